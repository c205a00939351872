/**
 * The end of a foreground process that belongs to one lab (`lab ui`): `lab down` removes the lab's
 * state, and `lab up` may start another lab with another id; either way the process must stop
 * instead of serving a deleted lab (and holding its port).
 */
import { loadLabState } from "./lab-state.ts";

/** The id of the lab that is up now, or undefined; a state file being rewritten counts as unknown. */
function currentLabId(): string | undefined | null {
  try {
    return loadLabState()?.id;
  } catch {
    return null;
  }
}

export interface LabWatch {
  /** Resolves once the lab `id` is no longer the lab that is up. */
  readonly gone: Promise<void>;
  /** Stops checking (gone then never resolves). */
  stop(): void;
}

/**
 * Checks every `intervalMs` whether lab `id` is still up. `current` returns the id of the lab
 * that is up, undefined when none is, null when that cannot be told right now (tests replace it).
 */
export function untilLabGone(
  id: string,
  intervalMs = 1000,
  current: () => string | undefined | null = currentLabId,
): LabWatch {
  let timer: ReturnType<typeof setInterval> | undefined;
  const gone = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      const now = current();
      if (now === null || now === id) return;
      clearInterval(timer);
      resolve();
    }, intervalMs);
  });
  return {
    gone,
    stop: () => clearInterval(timer),
  };
}

/** Resolves when this process's stdin ends: the parent that holds its other end died or closed it. */
export async function untilStdinEnds(): Promise<void> {
  try {
    for await (const _ of Bun.stdin.stream()) {
    }
  } catch {}
}
