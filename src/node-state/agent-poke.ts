/**
 * How the plugin tells the node agent that its pod rows changed without talking to the datastore
 * (which would cost the ADD a connection): it rewrites a small file in the state directory, and
 * the agent, watching the directory (inotify), publishes the rows at once. The agent's periodic
 * reconcile covers a poke that nobody saw.
 */
import { writeFileSync } from "node:fs";

/** Written in the plugin's data dir (the agent's state dir). */
export const POD_POKE_FILE = "pods.changed";

/** Never throws: with no agent running, or a read-only directory, the ADD or DEL still stands. */
export function pokeAgent(dataDir: string): void {
  try {
    // Written in place (not renamed over), so a watch on the file itself would see it too.
    writeFileSync(`${dataDir}/${POD_POKE_FILE}`, `${Date.now()} ${process.pid}\n`, { mode: 0o600 });
  } catch {
    // the agent's periodic reconcile publishes the change anyway
  }
}
