/**
 * A separate process holding the node state's write lock mid-transaction (state-lock-holder.ts),
 * for the tests that kill it, or the agent queued behind it, with SIGKILL.
 */
import { join } from "node:path";

export interface StateLockHolder {
  /** SIGKILLs the holder and waits for it (safe to call twice). */
  kill(): Promise<void>;
}

/** Starts the holder and resolves once it holds the lock (it printed "held"). */
export async function holdStateLock(stateDir: string): Promise<StateLockHolder> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "state-lock-holder.ts"), stateDir], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const kill = async (): Promise<void> => {
    child.kill("SIGKILL");
    await child.exited;
  };
  try {
    const first = await child.stdout.getReader().read();
    const line = new TextDecoder().decode(first.value);
    if (line !== "held\n") {
      throw new Error(
        `The state lock holder did not take the lock: printed ${JSON.stringify(line)}, stderr ${await new Response(child.stderr).text()}`,
      );
    }
  } catch (e) {
    await kill();
    throw e;
  }
  return { kill };
}
