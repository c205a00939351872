/**
 * Reads the node agent's structured log (one JSON object per line: time, level, msg, fields):
 * what the tests assert the agent said, and the benchmark's evidence of where it spends its time
 * (pure).
 */

export interface LogEntry {
  readonly atMs: number;
  readonly level: string;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Lines that are not the agent's JSON (a crash trace, Bun's own output) are skipped. */
export function parseAgentLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      const atMs = typeof o.time === "string" ? Date.parse(o.time) : Number.NaN;
      if (!Number.isFinite(atMs) || typeof o.msg !== "string") continue;
      const { time: _t, level, msg, ...fields } = o;
      out.push({ atMs, level: String(level), msg: msg as string, fields });
    } catch {
      // not one of the agent's lines
    }
  }
  return out;
}
