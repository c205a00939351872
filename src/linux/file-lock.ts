/**
 * An exclusive flock(2) on a lock file, held while a read-modify-write runs. flock rather than a
 * file created with O_EXCL: the kernel releases it when its holder dies (no stale lock after a
 * crash or Ctrl-C), and Bun opens files with O_CLOEXEC, so the agents and echo servers a holder
 * starts do not inherit it. The lock is tried without blocking and polled until a deadline: a
 * blocking flock() through FFI would stop the event loop (and with it every timer) meanwhile.
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
const EINTR = 4;
const EWOULDBLOCK = 11;

interface Flock {
  flock(fd: number, operation: number): number;
  errno(): number;
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
      __errno_location: { args: [], returns: T.ptr },
    });
    const s = lib.symbols;
    libc = {
      flock: (fd, operation) => s.flock(fd, operation),
      errno: () => {
        const p = s.__errno_location();
        return p ? ffi.read.i32(p, 0) : 0;
      },
    };
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

/** The lock while its holder runs: the file may be removed (by `lab down`) before release. */
export interface HeldLock {
  readonly path: string;
  /** Unlinks the lock file; whoever waits for it then locks a new file at the same path. */
  remove(): void;
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

/** One attempt: the locked descriptor, or undefined while another process holds the lock. */
function tryLock(path: string, lib: Flock): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileLockError(path, "no-directory", "its directory does not exist");
    throw new FileLockError(path, "unavailable", `cannot open it (${code ?? (e as Error).message})`);
  }
  let r = lib.flock(fd, LOCK_EX | LOCK_NB);
  while (r !== 0 && lib.errno() === EINTR) r = lib.flock(fd, LOCK_EX | LOCK_NB);
  if (r === 0 && stillAtPath(fd, path)) return fd;
  const errno = r === 0 ? 0 : lib.errno();
  closeSync(fd);
  if (r !== 0 && errno !== EWOULDBLOCK)
    throw new FileLockError(path, "unavailable", `flock() failed with errno ${errno}`);
  return undefined;
}

/** Who holds the lock: the pids from /proc/locks, and what the file says the holder does. */
function describeHolder(path: string): { pids: number[]; text: string } {
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
  const doing = said !== "" && (pids.length === 0 || pids.includes(writer)) ? ` (${said})` : "";
  if (pids.length === 0 && Number.isInteger(writer) && writer > 0) pids = [writer];
  const who = pids.length ? `pid ${pids.join(", ")}${doing}` : "another process";
  return { pids, text: who };
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
    ({ value: fd } = await pollUntil(`the lock ${path}`, () => tryLock(path, lib), options.timeoutMs, {
      intervalMs: 20,
    }));
  } catch (e) {
    if (!(e instanceof PollTimeoutError)) throw e;
    const holder = describeHolder(path);
    throw new FileLockError(
      path,
      "held",
      `${holder.text} holds it and did not release it within ${options.timeoutMs} ms`,
      holder.pids,
    );
  }
  let removed = false;
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid} ${options.purpose}\n`, 0);
    return await body({
      path,
      remove: () => {
        removed = true;
        unlinkSync(path);
      },
    });
  } finally {
    if (!removed) ftruncateSync(fd, 0);
    lib.flock(fd, LOCK_UN);
    closeSync(fd);
  }
}
