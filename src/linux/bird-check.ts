/**
 * `bird -p -c FILE`: BIRD parses the config and exits without opening a socket or touching the
 * kernel (safe in any namespace). A refused file names `FILE:LINE:COL message` on stderr — the
 * same text a refused `configure` answers with (reply 8002).
 */
import { runSync } from "./exec.ts";

export const BIRD_BINARY = "/usr/sbin/bird";

/** A config BIRD refuses: where (`file:line:col`) and why, from `bird -p` or a `configure` reply. */
export class BirdConfigError extends Error {
  override readonly name = "BirdConfigError";
  constructor(
    readonly configPath: string,
    readonly location: string | undefined,
    readonly reason: string,
  ) {
    super(`BIRD refuses config "${configPath}"${location ? ` at ${location}` : ""}: ${reason}`);
  }
}

/** Splits `[bird: ]FILE:LINE:COL message` into its location and message. */
export function parseBirdLocation(text: string): { location: string; message: string } | undefined {
  const m = /^(?:bird: )?(\S+:\d+:\d+) (.*)$/m.exec(text.trim());
  return m ? { location: m[1] as string, message: (m[2] as string).trim() } : undefined;
}

/** Throws BirdConfigError unless BIRD accepts the file. */
export function checkBirdConfig(path: string, binary: string = BIRD_BINARY): void {
  const r = runSync([binary, "-p", "-c", path], { timeoutMs: 10_000 });
  if (r.code === 0) return;
  const text = `${r.stderr}\n${r.stdout}`.trim();
  const at = parseBirdLocation(text);
  const reason = at?.message ?? (text.replace(/^bird: /, "") || `exit code ${r.code}`);
  throw new BirdConfigError(path, at?.location, reason);
}
