/**
 * The lock around every read-modify-write of the lab's state.json: `lab pod add` and `lab pod
 * delete` run from two terminals (or by the browser tests) would otherwise each write the pods
 * they read plus their own, and the later write would drop the other's pod. `lab up` and `lab
 * down` hold it for their whole run, so a pod is never added to a lab being built or removed.
 * Readers (status, check, exec, the map) take no lock: the state file is replaced by rename.
 * The lock is not re-entrant: taking it again inside its own body is refused at once.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import type { HeldLock } from "../linux/file-lock.ts";
import { FileLockError, withFileLock } from "../linux/file-lock.ts";
import type { LabState } from "./lab-state.ts";
import { labRoot, requireLabState } from "./lab-state.ts";

/** Long enough to wait for a `lab up` of a few nodes in another terminal to finish. */
export const LAB_STATE_LOCK_TIMEOUT_MS = 120_000;

export function labStateLockFile(): string {
  return `${labRoot()}/state.lock`;
}

export interface LabStateLockOptions {
  /** `lab up` creates the lab root; the others find no lab (and take no lock) without one. */
  readonly create?: boolean;
  readonly timeoutMs?: number;
}

/**
 * The lock held in this async context (a body of withLabStateLock), if any. `held` turns false
 * when the body settles: a timer or handler the body left behind may take the lock later.
 */
const heldHere = new AsyncLocalStorage<{ readonly purpose: string; held: boolean }>();

/** Runs `body` marked as holding the lock for `purpose`, so that a nested lock is refused. */
async function asHolder<T>(purpose: string, body: () => Promise<T>): Promise<T> {
  const mark = { purpose, held: true };
  try {
    return await heldHere.run(mark, body);
  } finally {
    mark.held = false;
  }
}

/** Taking the lab state's lock inside its own body: a programming error, it would wait for itself. */
export class LabStateLockNestedError extends Error {
  override readonly name = "LabStateLockNestedError";
  constructor(
    readonly lockFile: string,
    readonly outer: string,
    readonly inner: string,
  ) {
    super(
      `Cannot lock ${lockFile} for ${inner}: this process already holds it for ${outer} ` +
        "(the lab state's lock is not re-entrant: pass the held lock down instead of locking again)",
    );
  }
}

export class LabStateLockError extends Error {
  override readonly name = "LabStateLockError";
  constructor(
    readonly lockFile: string,
    readonly holders: readonly number[],
    message: string,
  ) {
    super(message);
  }
}

/**
 * Runs `body` holding the lab state's lock; `purpose` (e.g. "lab pod add node1 web") is what
 * another command waiting for it is told. Throws LabStateLockError naming the lock file and its
 * holder's pid when it stays held past the timeout, and LabStateLockNestedError at once when
 * called inside a body of its own (`lab up` cleaning up calls removeLab(lock), not labDown()).
 * When the body asks for the lock file's removal (`lab down`), the emptied lab root goes too,
 * after the release.
 */
export async function withLabStateLock<T>(
  purpose: string,
  body: (lock: HeldLock | undefined) => Promise<T>,
  options: LabStateLockOptions = {},
): Promise<T> {
  const root = labRoot();
  const file = labStateLockFile();
  const outer = heldHere.getStore();
  if (outer?.held) throw new LabStateLockNestedError(file, outer.purpose, purpose);
  const timeoutMs = options.timeoutMs ?? LAB_STATE_LOCK_TIMEOUT_MS;
  // `lab down` may remove the root while this waits: then look again (once is enough).
  for (let attempt = 1; ; attempt++) {
    if (options.create) mkdirSync(root, { recursive: true, mode: 0o700 });
    // No root, no state: nothing to protect (the body finds no lab), and nothing is created.
    else if (!existsSync(root)) return await asHolder(purpose, () => body(undefined));
    let held = false;
    let removed = false;
    try {
      return await withFileLock(
        file,
        async (lock) => {
          held = true;
          const removeOnRelease = () => {
            removed = true;
            lock.removeOnRelease();
          };
          return await asHolder(purpose, () => body({ path: lock.path, removeOnRelease }));
        },
        { timeoutMs, purpose: `podnet ${purpose}` },
      );
    } catch (e) {
      if (held || !(e instanceof FileLockError)) throw e;
      if (e.failure === "no-directory" && attempt < 3) continue;
      const hint = e.failure === "held" ? "; try again once it has finished" : "";
      throw new LabStateLockError(file, e.holders, `${e.message}${hint}`);
    } finally {
      if (removed) removeEmptyRoot(root);
    }
  }
}

/** The lab root once its lock file is gone, if nothing else (or a new lab's lock) lives there. */
function removeEmptyRoot(root: string): void {
  try {
    rmdirSync(root);
  } catch {
    // not empty (a waiter has locked a new file there, or something else lives there) or gone
  }
}

/**
 * A read-modify-write of the lab's state under its lock: `change` gets the state as it is now
 * (not as it was before the wait) and saves what it changes with saveLabState.
 */
export async function updateLabState<T>(
  purpose: string,
  change: (state: LabState) => Promise<T>,
  options: LabStateLockOptions = {},
): Promise<T> {
  return await withLabStateLock(purpose, async () => await change(requireLabState()), options);
}
