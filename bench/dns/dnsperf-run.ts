/**
 * One dnsperf run against one server inside the benchmark's namespace, bounded by -l: closed loop
 * (at most `outstanding` queries in flight, as fast as the server answers: its capacity) or at a
 * fixed rate with -v (one line per response: the latencies the percentiles come from). The
 * server's CPU time over the run is read from /proc around it.
 */
import { readFileSync } from "node:fs";
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import { type DnsperfSummary, forEachVerboseResponse, parseDnsperfSummary } from "./dnsperf-output.ts";
import { processCpuSeconds } from "./proc-status.ts";
import type { RunningServer } from "./subjects.ts";

export interface DnsperfOptions {
  readonly address: string;
  readonly queryFile: string;
  readonly seconds: number;
  readonly clients: number;
  readonly outstanding: number;
  /** -Q: queries per second; undefined for a closed loop. */
  readonly rate?: number;
  /** -v, and the latency of every response handed to `onResponse`. */
  readonly onResponse?: (rcode: string, query: string, latencyMs: number) => void;
}

export interface DnsperfRun {
  readonly summary: DnsperfSummary;
  /** The server's CPU seconds during the run. */
  readonly serverCpuSeconds: number;
  /** Response lines read from -v output (0 without). */
  readonly verboseResponses: number;
}

export class DnsperfError extends Error {
  override readonly name = "DnsperfError";
}

export async function runDnsperf(
  sandbox: BenchSandbox,
  netns: string,
  server: RunningServer,
  options: DnsperfOptions,
  outFile: string,
): Promise<DnsperfRun> {
  const argv = [
    "dnsperf",
    ...["-s", options.address, "-p", String(server.port), "-d", options.queryFile],
    ...["-l", String(options.seconds), "-c", String(options.clients), "-q", String(options.outstanding)],
    // A query unanswered after 2 s is lost (the default 5 s would stretch the run).
    ...["-t", "2"],
    ...(options.rate === undefined ? [] : ["-Q", String(options.rate)]),
    ...(options.onResponse === undefined ? [] : ["-v"]),
  ];
  const cpuBefore = processCpuSeconds(server.child.pid, server.subject);
  const child = sandbox.spawn(`dnsperf against ${server.subject}`, inNetns(netns, argv), { log: outFile });
  const deadline = setTimeout(() => child.proc.kill("SIGKILL"), (options.seconds + 30) * 1000);
  const code = await child.proc.exited;
  clearTimeout(deadline);
  const serverCpuSeconds = processCpuSeconds(server.child.pid, server.subject) - cpuBefore;
  const text = readFileSync(outFile, "utf8");
  if (code !== 0)
    throw new DnsperfError(
      `dnsperf against ${server.subject} exited with ${code}: ${text.trim().slice(-300)}`,
    );
  const onResponse = options.onResponse;
  const verboseResponses =
    onResponse === undefined
      ? 0
      : forEachVerboseResponse(text, (r) => onResponse(r.rcode, r.query, r.latencyMs));
  return { summary: parseDnsperfSummary(text), serverCpuSeconds, verboseResponses };
}
