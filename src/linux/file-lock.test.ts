import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { pollUntil } from "../base/poll-until.ts";
import { FileLockError, lockOpened, withFileLock } from "./file-lock.ts";

const dir = mkdtempSync(`${tmpdir()}/podnet-file-lock-`);
const children: Subprocess[] = [];
afterAll(() => {
  for (const c of children) c.kill(9);
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const lockPath = () => `${dir}/test-${++n}.lock`;
const options = (timeoutMs: number, purpose = "test") => ({ timeoutMs, purpose });

/** Whether the lock is taken by someone else right now (one attempt, no waiting). */
async function isHeld(path: string): Promise<boolean> {
  try {
    await withFileLock(path, async () => {}, options(0));
    return false;
  } catch (e) {
    if (e instanceof FileLockError && e.failure === "held") return true;
    throw e;
  }
}

/** A process of our own that takes the lock (as `podnet lab pod add` would) until its stdin ends. */
async function holdInChild(path: string, purpose: string): Promise<Subprocess<"pipe", "pipe", "inherit">> {
  const script = `
    const { withFileLock } = await import(${JSON.stringify(`${import.meta.dir}/file-lock.ts`)});
    await withFileLock(${JSON.stringify(path)}, async () => {
      console.log("locked");
      for await (const _ of Bun.stdin.stream()) {}
    }, { timeoutMs: 10000, purpose: ${JSON.stringify(purpose)} });`;
  const child = Bun.spawn([process.execPath, "-e", script], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  children.push(child);
  const reader = child.stdout.getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain("locked");
  return child;
}

describe("withFileLock", () => {
  test("concurrent read-modify-writes of one file lose no update", async () => {
    const path = lockPath();
    const counter = `${dir}/counter`;
    writeFileSync(counter, "0");
    const increment = () =>
      withFileLock(
        path,
        async () => {
          const value = Number(readFileSync(counter, "utf8"));
          // Every other increment gets its turn to run here: without the lock they all read 0.
          await Bun.sleep(1);
          writeFileSync(counter, String(value + 1));
        },
        options(10_000),
      );
    await Promise.all(Array.from({ length: 20 }, increment));
    expect(readFileSync(counter, "utf8")).toBe("20");
  });

  test("a second holder is refused while the first holds it, and gets it once released", async () => {
    const path = lockPath();
    await withFileLock(
      path,
      async () => {
        expect(await isHeld(path)).toBe(true);
      },
      options(1000),
    );
    expect(await isHeld(path)).toBe(false);
  });

  test("held by another process: the error names the file, the holder's pid and what it does", async () => {
    const path = lockPath();
    const child = await holdInChild(path, "lab pod add node1 web");
    const attempt = withFileLock(path, async () => "taken", options(100));
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FileLockError);
    const e = error as FileLockError;
    expect(e.failure).toBe("held");
    expect(e.holders).toEqual([child.pid]);
    expect(e.message).toContain(path);
    expect(e.message).toContain(`pid ${child.pid} (lab pod add node1 web)`);
    expect(e.message).toContain("within 100 ms");
    // Its holder ends: the lock is free.
    child.stdin.end();
    await child.exited;
    expect(await withFileLock(path, async () => "taken", options(5000))).toBe("taken");
  });

  test("held by another program (flock(1)): the holder's pid comes from /proc/locks", async () => {
    const path = lockPath();
    const child = Bun.spawn(["flock", path, "cat"], { stdin: "pipe", stdout: "ignore", stderr: "inherit" });
    children.push(child);
    await pollUntil("flock(1) to hold the lock", () => isHeld(path), 10_000);
    const error = await withFileLock(path, async () => {}, options(50)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileLockError);
    expect((error as FileLockError).message).toContain(`pid ${child.pid} holds it`);
    child.stdin.end();
    await child.exited;
    expect(await isHeld(path)).toBe(false);
  });

  test("what the holder wrote is shown with its control characters replaced", async () => {
    const path = lockPath();
    const child = Bun.spawn(["flock", path, "cat"], { stdin: "pipe", stdout: "ignore", stderr: "inherit" });
    children.push(child);
    await pollUntil("flock(1) to hold the lock", () => isHeld(path), 10_000);
    writeFileSync(path, `${child.pid} lab \x1b[2J up\n`);
    const error = await withFileLock(path, async () => {}, options(0)).catch((e: unknown) => e);
    expect((error as FileLockError).message).toContain(`pid ${child.pid} (lab ?[2J up) holds it`);
    child.stdin.end();
    await child.exited;
  });

  test("a holder killed with SIGKILL leaves no stale lock", async () => {
    const path = lockPath();
    const child = await holdInChild(path, "lab up");
    expect(await isHeld(path)).toBe(true);
    child.kill(9);
    await child.exited;
    expect(await isHeld(path)).toBe(false);
  });

  test("a process started while holding the lock does not keep it after release", async () => {
    const path = lockPath();
    let sleeper: Subprocess | undefined;
    await withFileLock(
      path,
      async () => {
        sleeper = Bun.spawn(["sleep", "600"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
        children.push(sleeper);
      },
      options(1000),
    );
    expect(sleeper?.exitCode).toBeNull();
    expect(await isHeld(path)).toBe(false);
  });

  test("the holder may remove the file on release; the next holder locks a new one at the same path", async () => {
    const path = lockPath();
    await withFileLock(
      path,
      async (lock) => {
        lock.removeOnRelease();
        // Removed only when released: while the holder runs, the file is the one waiters lock.
        expect(existsSync(path)).toBe(true);
      },
      options(1000),
    );
    expect(existsSync(path)).toBe(false);
    await withFileLock(
      path,
      async () => {
        expect(existsSync(path)).toBe(true);
        expect(await isHeld(path)).toBe(true);
      },
      options(1000),
    );
  });

  test("a waiter polling while the holder removes the file gets in only once the holder has finished", async () => {
    const path = lockPath();
    const events: string[] = [];
    let waiter: Promise<void> | undefined;
    await withFileLock(
      path,
      async (lock) => {
        waiter = withFileLock(path, async () => void events.push("waiter runs"), options(10_000));
        lock.removeOnRelease();
        // The holder's last work after asking for the removal (lab down removing the lab root):
        // the waiter tries every 20 ms meanwhile, and must not find a free file at the path.
        await Bun.sleep(300);
        events.push("holder done");
      },
      options(1000),
    );
    await waiter;
    expect(events).toEqual(["holder done", "waiter runs"]);
  });

  test("a waiter that opened the file before its holder removed it does not take the path's lock", async () => {
    const path = lockPath();
    let fd = -1;
    await withFileLock(
      path,
      async (lock) => {
        // A waiter's attempt: the file opened, then found busy.
        fd = openSync(path, "r+");
        expect(lockOpened(fd, path)).toBe("busy");
        lock.removeOnRelease();
      },
      options(1000),
    );
    // Another process has since locked a new file at the path.
    const other = Bun.spawn(["flock", path, "cat"], { stdin: "pipe", stdout: "ignore", stderr: "inherit" });
    children.push(other);
    await pollUntil("flock(1) to hold the new file", () => isHeld(path), 10_000);
    // The old file is free to lock, but it is no longer the path's: the waiter must open the path again.
    expect(lockOpened(fd, path)).toBe("moved");
    closeSync(fd);
    const error = await withFileLock(path, async () => {}, options(0)).catch((e: unknown) => e);
    expect((error as FileLockError).holders).toEqual([other.pid]);
    other.stdin.end();
    await other.exited;
  });

  test("any failed attempt counts as busy (flock's errno is not read): a bad descriptor does not throw", () => {
    const path = lockPath();
    const fd = openSync(path, "w");
    closeSync(fd);
    expect(lockOpened(fd, path)).toBe("busy");
  });

  test("a waiter keeps trying while the lock is busy and takes it once its holder releases it", async () => {
    const path = lockPath();
    const child = await holdInChild(path, "lab up");
    const waiter = withFileLock(path, async () => "taken", options(10_000));
    // Still waiting after several attempts: busy is not a failure.
    await Bun.sleep(200);
    expect(await isHeld(path)).toBe(true);
    child.stdin.end();
    await child.exited;
    expect(await waiter).toBe("taken");
  });

  test("the holder's pid and purpose are in the file while held, and cleared after", async () => {
    const path = lockPath();
    await withFileLock(
      path,
      async () => {
        expect(readFileSync(path, "utf8")).toBe(`${process.pid} lab pod delete web\n`);
      },
      options(1000, "lab pod delete web"),
    );
    expect(readFileSync(path, "utf8")).toBe("");
  });

  test("a lock file in a missing directory is refused as such", async () => {
    const error = await withFileLock(`${dir}/missing/x.lock`, async () => {}, options(1000)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FileLockError);
    expect((error as FileLockError).failure).toBe("no-directory");
    expect((error as FileLockError).message).toContain(`${dir}/missing/x.lock`);
  });
});
