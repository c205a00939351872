/** Reads the figures the benchmark keeps from `iperf3 -J` (client side) output (pure). */

export interface IperfResult {
  /** What the receiver counted, bits per second (after the omitted warm-up seconds). */
  readonly receivedBps: number;
  readonly sentBps: number;
  readonly retransmits: number;
  readonly seconds: number;
  /** CPU use of the client (host) and the server (remote), percent of one CPU. */
  readonly cpuClientPercent: number | null;
  readonly cpuServerPercent: number | null;
}

export class IperfOutputError extends Error {
  override readonly name = "IperfOutputError";
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function parseIperfJson(text: string): IperfResult {
  let doc: Json | undefined;
  try {
    doc = obj(JSON.parse(text));
  } catch {
    throw new IperfOutputError(
      `Cannot read iperf3 output: not JSON (${text.trim().slice(0, 120) || "empty"})`,
    );
  }
  if (!doc) throw new IperfOutputError("Cannot read iperf3 output: not a JSON object");
  if (typeof doc.error === "string") throw new IperfOutputError(`iperf3 failed: ${doc.error}`);
  const end = obj(doc.end);
  const received = obj(end?.sum_received);
  const sent = obj(end?.sum_sent);
  const receivedBps = num(received?.bits_per_second);
  const sentBps = num(sent?.bits_per_second);
  if (receivedBps === undefined || sentBps === undefined)
    throw new IperfOutputError("Cannot read iperf3 output: no end.sum_received/sum_sent bits_per_second");
  const cpu = obj(end?.cpu_utilization_percent);
  return {
    receivedBps,
    sentBps,
    retransmits: num(sent?.retransmits) ?? 0,
    seconds: num(received?.seconds) ?? num(sent?.seconds) ?? 0,
    cpuClientPercent: num(cpu?.host_total) ?? null,
    cpuServerPercent: num(cpu?.remote_total) ?? null,
  };
}
