/**
 * What dnsperf prints (pure). Debian's dnsperf 2.10 has no percentiles (FINDINGS §4), so the
 * summary gives the throughput and the averages, and with -v every response is a line
 * "> RCODE NAME TYPE SECONDS" (the query's input line, its latency in microseconds): the
 * percentiles are computed from those.
 */

export class DnsperfOutputError extends Error {
  override readonly name = "DnsperfOutputError";
}

export interface DnsperfSummary {
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  /** Responses by rcode name. */
  readonly rcodes: Readonly<Record<string, number>>;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly runSeconds: number;
  readonly queriesPerSecond: number;
  readonly avgLatencyMs: number;
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly stddevLatencyMs: number;
}

function field(text: string, label: string): string {
  const m = new RegExp(`^\\s*${label}:\\s+(.+)$`, "m").exec(text);
  if (!m?.[1]) throw new DnsperfOutputError(`dnsperf printed no "${label}" line`);
  return m[1].trim();
}

function num(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n)) throw new DnsperfOutputError(`dnsperf's ${what} "${text}" is not a number`);
  return n;
}

/** The "Statistics:" block dnsperf prints at the end of a run. */
export function parseDnsperfSummary(text: string): DnsperfSummary {
  const first = (label: string) => num(field(text, label).split(/\s+/)[0] ?? "", label);
  const rcodes: Record<string, number> = {};
  for (const part of field(text, "Response codes").split(",")) {
    const m = /^\s*([A-Z0-9]+)\s+(\d+)\s+\(/.exec(part);
    if (m?.[1] && m[2]) rcodes[m[1]] = Number(m[2]);
  }
  const size = /request\s+(\d+),\s+response\s+(\d+)/.exec(field(text, "Average packet size"));
  const latency = /^([\d.]+)\s+\(min\s+([\d.]+),\s+max\s+([\d.]+)\)$/.exec(
    field(text, "Average Latency \\(s\\)"),
  );
  if (!latency?.[1] || !latency[2] || !latency[3])
    throw new DnsperfOutputError(`dnsperf's "Average Latency" line is not "AVG (min MIN, max MAX)"`);
  return {
    sent: first("Queries sent"),
    completed: first("Queries completed"),
    lost: first("Queries lost"),
    rcodes,
    // A run in which nothing came back prints "request 40, response 0" or no sizes at all.
    requestBytes: size?.[1] ? Number(size[1]) : 0,
    responseBytes: size?.[2] ? Number(size[2]) : 0,
    runSeconds: first("Run time \\(s\\)"),
    queriesPerSecond: first("Queries per second"),
    avgLatencyMs: num(latency[1], "average latency") * 1000,
    minLatencyMs: num(latency[2], "minimum latency") * 1000,
    maxLatencyMs: num(latency[3], "maximum latency") * 1000,
    stddevLatencyMs: first("Latency StdDev \\(s\\)") * 1000,
  };
}

/** One response of a -v run. */
export interface VerboseResponse {
  readonly rcode: string;
  /** The query's input line, "NAME TYPE". */
  readonly query: string;
  readonly latencyMs: number;
}

const VERBOSE = /^> ([A-Z0-9]+) (.+) (\d+\.\d+)$/;

/** Calls `each` for every response line of -v output; returns how many there were. */
export function forEachVerboseResponse(text: string, each: (r: VerboseResponse) => void): number {
  let n = 0;
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    if (text.startsWith("> ", at)) {
      const m = VERBOSE.exec(text.slice(at, end));
      if (m?.[1] && m[2] && m[3]) {
        each({ rcode: m[1], query: m[2], latencyMs: Number(m[3]) * 1000 });
        n++;
      }
    }
    at = end + 1;
  }
  return n;
}
