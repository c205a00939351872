/** The `bridge` tool (iproute2): FDB entries, which `ip` does not manage. */
import { CommandError, runSync } from "./exec.ts";
import type { IpCommand } from "./ip.ts";
import { renderBatch } from "./ip.ts";

/** Runs `bridge -batch -` in the current namespace; stops at the first failing command. */
export function bridgeBatch(commands: readonly IpCommand[]): void {
  if (commands.length === 0) return;
  const argv = ["bridge", "-batch", "-"];
  const r = runSync(argv, { stdin: renderBatch(commands) });
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr);
}

export interface FdbEntry {
  readonly mac: string;
  readonly dst?: string;
  readonly state?: string;
  readonly flags?: readonly string[];
}

/** FDB entries of one device (empty when the device does not exist). */
export function fdbOf(dev: string): FdbEntry[] {
  const argv = ["bridge", "-json", "fdb", "show", "dev", dev];
  const r = runSync(argv);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return [];
    throw new CommandError(argv, r.code, r.stderr);
  }
  const text = r.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as FdbEntry[]);
}
