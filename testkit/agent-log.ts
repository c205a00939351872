/**
 * Reads the node agent's structured log (one JSON object per line: time, level, msg, fields) and
 * its Prometheus text, for the benchmark's evidence of where an agent spends its time (pure).
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

/** Milestones of an agent's start, ms after `originMs` (null when the agent never logged it). */
export interface StartTimeline {
  /** First line of any kind: the process is up and has opened its datastore. */
  readonly firstLogMs: number | null;
  readonly blocksLeasedMs: number | null;
  readonly conflistWrittenMs: number | null;
  readonly readyMs: number | null;
}

export function startTimeline(entries: readonly LogEntry[], originMs: number): StartTimeline {
  const at = (msg?: string) => {
    const e = entries.find((x) => x.atMs >= originMs - 1 && (msg === undefined || x.msg === msg));
    return e ? e.atMs - originMs : null;
  };
  return {
    firstLogMs: at(),
    blocksLeasedMs: at("blocks leased"),
    conflistWrittenMs: at("CNI config written"),
    readyMs: at("node network programmed: ready"),
  };
}

/** Lines at warn or error level since `originMs`, for the report. */
export function problems(entries: readonly LogEntry[], originMs: number): LogEntry[] {
  return entries.filter((e) => e.atMs >= originMs && (e.level === "warn" || e.level === "error"));
}

/**
 * The sum of every series of a metric in Prometheus text format (`name` or `name{labels}`);
 * undefined when the metric is absent.
 */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}
