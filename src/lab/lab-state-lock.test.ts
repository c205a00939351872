import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { pollUntil } from "../base/poll-until.ts";
import { addLabPod } from "./lab-pods.ts";
import type { LabPod, LabState } from "./lab-state.ts";
import { NoLabError, saveLabState } from "./lab-state.ts";
import {
  LabStateLockError,
  LabStateLockNestedError,
  labStateLockFile,
  updateLabState,
  withLabStateLock,
} from "./lab-state-lock.ts";

let root: string;
const savedRoot = process.env.PODNET_LAB_ROOT;
const children: Subprocess[] = [];

beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/podnet-lab-lock-`);
  process.env.PODNET_LAB_ROOT = root;
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill(9);
  if (savedRoot === undefined) delete process.env.PODNET_LAB_ROOT;
  else process.env.PODNET_LAB_ROOT = savedRoot;
  rmSync(root, { recursive: true, force: true });
});

/** A lab's state with no namespaces behind it (the tests only read and write state.json). */
function writeLab(): LabState {
  const state = {
    id: `t${Math.random().toString(36).slice(2, 7)}`,
    dir: `${root}/lab`,
    nodes: [{ name: "node1" }, { name: "node2" }],
    pods: [],
  } as unknown as LabState;
  writeFileSync(`${root}/state.json`, JSON.stringify(state));
  return state;
}

const podsOnDisk = () =>
  (JSON.parse(readFileSync(`${root}/state.json`, "utf8")) as LabState).pods.map((p) => p.name).sort();

describe("updateLabState", () => {
  test("concurrent read-modify-writes of state.json keep every pod", async () => {
    writeLab();
    const names = Array.from({ length: 12 }, (_, i) => `pod-${String(i).padStart(2, "0")}`);
    await Promise.all(
      names.map((name) =>
        updateLabState(`test add ${name}`, async (state) => {
          // Where a real add attaches the pod: every other add reads the state meanwhile.
          await Bun.sleep(1);
          state.pods.push({ name } as LabPod);
          saveLabState(state);
        }),
      ),
    );
    expect(podsOnDisk()).toEqual(names);
  });

  test("held by another process: fails naming the lock file and the holder's pid", async () => {
    writeLab();
    const holder = Bun.spawn(["flock", labStateLockFile(), "cat"], {
      stdin: "pipe",
      stdout: "ignore",
      stderr: "inherit",
    });
    children.push(holder);
    // flock(1) holds it once a try of ours fails.
    const { value: error } = await pollUntil("flock(1) to hold the lab's lock", () =>
      updateLabState("lab pod add node1 web", async () => {}, { timeoutMs: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(LabStateLockError);
    const e = error as LabStateLockError;
    expect(e.lockFile).toBe(`${root}/state.lock`);
    expect(e.holders).toEqual([holder.pid]);
    expect(e.message).toContain(`Cannot lock ${root}/state.lock: pid ${holder.pid} holds it`);
    expect(podsOnDisk()).toEqual([]);
    holder.stdin.end();
    await holder.exited;
    expect(await updateLabState("lab pod add node1 web", async (s) => s.pods.length)).toBe(0);
  });

  test("without a lab root: no lab, and nothing created", async () => {
    rmSync(root, { recursive: true, force: true });
    await expect(updateLabState("lab pod delete web", async () => {})).rejects.toBeInstanceOf(NoLabError);
    expect(existsSync(root)).toBe(false);
  });

  test("lab up creates the root and holds the lock there", async () => {
    rmSync(root, { recursive: true, force: true });
    const held = await withLabStateLock("lab up", async () => readFileSync(labStateLockFile(), "utf8"), {
      create: true,
    });
    expect(held).toBe(`${process.pid} podnet lab up\n`);
  });
});

describe("withLabStateLock nested in its own body", () => {
  test("is refused at once as a programming error, naming both purposes, not waited for", async () => {
    writeLab();
    // With the default 120 s timeout: a wait would outlast the test's own timeout.
    const error = await withLabStateLock("lab up", async () => {
      await Bun.sleep(1);
      return await withLabStateLock("lab down", async () => "nested").catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(LabStateLockNestedError);
    const e = error as LabStateLockNestedError;
    expect(e.message).toContain(`Cannot lock ${root}/state.lock for lab down`);
    expect(e.message).toContain("already holds it for lab up");
    expect(e.message).toContain("not re-entrant");
    // The outer lock is released as usual.
    expect(await updateLabState("lab pod add node1 web", async (s) => s.pods.length)).toBe(0);
  });

  test("also through updateLabState, and without a lab root", async () => {
    writeLab();
    const nested = await updateLabState("lab pod add node1 web", async () =>
      updateLabState("lab pod delete web", async () => {}).catch((e: unknown) => e),
    );
    expect(nested).toBeInstanceOf(LabStateLockNestedError);
    rmSync(root, { recursive: true, force: true });
    const noRoot = await withLabStateLock("lab down", async () =>
      withLabStateLock("lab down", async () => {}).catch((e: unknown) => e),
    );
    expect(noRoot).toBeInstanceOf(LabStateLockNestedError);
  });

  test("a timer the body left behind may take the lock once the body has finished", async () => {
    writeLab();
    let later: Promise<number> | undefined;
    await withLabStateLock("lab up", async () => {
      later = new Promise((resolve, reject) =>
        setTimeout(() => updateLabState("lab pod add", async (s) => s.pods.length).then(resolve, reject), 50),
      );
    });
    expect(await later).toBe(0);
  });
});

describe("lab down removing the lock file", () => {
  test("a command waiting meanwhile runs after it has finished, and the emptied root is gone", async () => {
    writeLab();
    const events: string[] = [];
    let locked: () => void = () => {};
    const downHolds = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const down = withLabStateLock("lab down", async (lock) => {
      locked();
      rmSync(`${root}/state.json`);
      lock?.removeOnRelease();
      // What lab down still does after asking for the removal: the waiter tries meanwhile.
      await Bun.sleep(300);
      events.push("down done");
    });
    await downHolds;
    // Another command (started outside down's body, as from another terminal) waits for the lock.
    await withLabStateLock("lab pod add node1 web", async () => void events.push("pod add runs"));
    await down;
    expect(events).toEqual(["down done", "pod add runs"]);
    expect(existsSync(root)).toBe(false);
  });
});

describe("addLabPod under the lock", () => {
  test("two adds at once both end up in state.json", async () => {
    writeLab();
    const attach = async (state: LabState, node: { name: string }, name: string) => {
      await Bun.sleep(5);
      return { name, node: node.name, netns: `pnlab-${state.id}-${name}` } as LabPod;
    };
    const steps = { attach, undo: async () => {} };
    await Promise.all([
      addLabPod("node1", "web", undefined, steps),
      addLabPod("node2", "api", undefined, steps),
    ]);
    expect(podsOnDisk()).toEqual(["api", "web"]);
  });

  test("the second of two adds of one name is refused: it reads the first one's pod", async () => {
    writeLab();
    const attach = async (_s: LabState, node: { name: string }, name: string) => {
      await Bun.sleep(5);
      return { name, node: node.name } as LabPod;
    };
    const steps = { attach, undo: async () => {} };
    const results = await Promise.allSettled([
      addLabPod("node1", "web", undefined, steps),
      addLabPod("node2", "web", undefined, steps),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(String((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason)).toContain(
      'pod "web" already exists',
    );
    expect(podsOnDisk()).toEqual(["web"]);
  });
});
