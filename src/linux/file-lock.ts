/**
 * An exclusive flock(2) on a lock file, held while a read-modify-write runs. flock rather than a
 * file created with O_EXCL: the kernel releases it when its holder dies (no stale lock after a
 * crash or Ctrl-C), and Bun opens files with O_CLOEXEC, so the agents and echo servers a holder
 * starts do not inherit it. The lock is tried without blocking and polled until a deadline: a
 * blocking flock() through FFI would stop the event loop (and with it every timer) meanwhile.
 *
 * A holder may remove the lock file (`lab down` removes the lab). The classic flock+unlink rule
 * keeps that safe: the holder unlinks it as its very last step, just before it unlocks, and a
 * waiter that got the lock checks that the file it locked is still the one at the path; if not
 * (it opened the old file before the unlink), it opens the path again.
 *
 * flock()'s errno is not read: through FFI it would take a second call (__errno_location), and
 * the JavaScript engine may run between the two and overwrite it. A failed LOCK_NB attempt is
 * taken as "busy" and tried again until the deadline; who holds the lock then comes from
 * /proc/locks, and the error says so when nobody is listed there.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { PollTimeoutError, pollUntil } from "../base/poll-until.ts";
import { lockHolders } from "./proc-locks.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

interface Flock {
  flock(fd: number, operation: number): number;
}

let libc: Flock | undefined;

function loadFlock(path: string): Flock {
  if (libc) return libc;
  try {
    // Required lazily so that importing this module never fails outside Bun.
    const ffi = require("bun:ffi") as typeof import("bun:ffi");
    const { FFIType: T } = ffi;
    const lib = ffi.dlopen("libc.so.6", {
      flock: { args: [T.i32, T.i32], returns: T.i32 },
    });
    const s = lib.symbols;
    libc = { flock: (fd, operation) => s.flock(fd, operation) };
    return libc;
  } catch (e) {
    throw new FileLockError(path, "unavailable", `flock() is not available (${(e as Error).message})`);
  }
}

/** Why a lock was not taken: held past the deadline, no directory for its file, no flock(). */
export type FileLockFailure = "held" | "no-directory" | "unavailable";

export class FileLockError extends Error {
  override readonly name = "FileLockError";
  constructor(
    readonly path: string,
    readonly failure: FileLockFailure,
    reason: string,
    /** The processes holding the lock when it could not be taken (from /proc/locks). */
    readonly holders: readonly number[] = [],
  ) {
    super(`Cannot lock ${path}: ${reason}`);
  }
}

/** The lock while its holder runs. */
export interface HeldLock {
  readonly path: string;
  /**
   * Removes the lock file when the lock is released: it is unlinked as the holder's last step,
   * just before the unlock, so whoever then locks a new file at the path runs after this holder.
   */
  removeOnRelease(): void;
}

export interface FileLockOptions {
  /** How long to wait for another holder to release it. */
  readonly timeoutMs: number;
  /** What the holder does, written into the file so the error of someone waiting can say it. */
  readonly purpose: string;
}

/** Whether `fd` is still the file at `path` (a holder may have removed it before releasing). */
function stillAtPath(fd: number, path: string): boolean {
  try {
    const held = fstatSync(fd);
    const now = statSync(path);
    return held.ino === now.ino && held.dev === now.dev;
  } catch {
    return false;
  }
}

/** What one attempt on an opened lock file found. */
export type LockAttempt = "held" | "busy" | "moved";

/**
 * Tries to lock `fd`, opened at `path`, without blocking: "held" (this descriptor holds the lock
 * of the file at `path`), "busy" (another holder has it: try again later) or "moved" (locked, but
 * the file is no longer the one at `path`, as its last holder removed it: open the path again).
 * On "busy" and "moved" the descriptor holds nothing and is the caller's to close.
 */
export function lockOpened(fd: number, path: string): LockAttempt {
  const lib = loadFlock(path);
  // Any failure of a LOCK_NB attempt counts as busy: see the module comment about errno.
  if (lib.flock(fd, LOCK_EX | LOCK_NB) !== 0) return "busy";
  if (stillAtPath(fd, path)) return "held";
  lib.flock(fd, LOCK_UN);
  return "moved";
}

/** One attempt: the locked descriptor, or undefined while another process holds the lock. */
function tryLock(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileLockError(path, "no-directory", "its directory does not exist");
    throw new FileLockError(path, "unavailable", `cannot open it (${code ?? (e as Error).message})`);
  }
  let attempt: LockAttempt;
  try {
    attempt = lockOpened(fd, path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (attempt === "held") return fd;
  closeSync(fd);
  return undefined;
}

/**
 * Why the lock was not taken within `timeoutMs`: its holders from /proc/locks, with what the file
 * says they do; or, when none is listed (released just then, or flock() failing for another
 * reason), that none is, and who last wrote the file.
 */
function whyNotTaken(path: string, timeoutMs: number): { pids: number[]; reason: string } {
  let pids: number[] = [];
  let written = "";
  try {
    const st = statSync(path);
    pids = lockHolders(readFileSync("/proc/locks", "utf8"), st.dev, st.ino);
    written = readFileSync(path, "utf8").trim();
  } catch {
    // gone or unreadable: say what is known
  }
  const [pidText, ...purpose] = written.split(" ");
  const writer = Number(pidText);
  // Shown on a terminal: printable ASCII only, whatever was written into the file.
  const said = purpose
    .join(" ")
    .replace(/[^ -~]/g, "?")
    .slice(0, 120);
  if (pids.length > 0) {
    const doing = said !== "" && pids.includes(writer) ? ` (${said})` : "";
    return {
      pids,
      reason: `pid ${pids.join(", ")}${doing} holds it and did not release it within ${timeoutMs} ms`,
    };
  }
  const last = Number.isInteger(writer) && writer > 0 ? `; pid ${writer} (${said || "?"}) last wrote it` : "";
  return {
    pids,
    reason: `flock() failed for ${timeoutMs} ms, yet /proc/locks lists no holder of it${last}`,
  };
}

/**
 * Runs `body` holding an exclusive lock on `path` (created if missing; its directory must exist).
 * Throws FileLockError naming the file and the holder's pid if the lock is not free within
 * `timeoutMs`. The lock is released when `body` settles, or by the kernel if this process dies.
 */
export async function withFileLock<T>(
  path: string,
  body: (lock: HeldLock) => Promise<T>,
  options: FileLockOptions,
): Promise<T> {
  const lib = loadFlock(path);
  let fd: number;
  try {
    ({ value: fd } = await pollUntil(`the lock ${path}`, () => tryLock(path), options.timeoutMs, {
      intervalMs: 20,
    }));
  } catch (e) {
    if (!(e instanceof PollTimeoutError)) throw e;
    const why = whyNotTaken(path, options.timeoutMs);
    throw new FileLockError(path, "held", why.reason, why.pids);
  }
  let remove = false;
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid} ${options.purpose}\n`, 0);
    return await body({
      path,
      removeOnRelease: () => {
        remove = true;
      },
    });
  } finally {
    release(fd, path, remove, lib);
  }
}

/** Releases the lock; a file to remove is unlinked first (still locked), if it is still ours. */
function release(fd: number, path: string, remove: boolean, lib: Flock): void {
  try {
    if (remove && stillAtPath(fd, path)) unlinkSync(path);
    else ftruncateSync(fd, 0);
  } finally {
    lib.flock(fd, LOCK_UN);
    closeSync(fd);
  }
}
