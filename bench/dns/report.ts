/**
 * Turns the DNS benchmark's measurements into its report (JSON), with every ratio podnet / dnsmasq
 * and the targets judged on unrounded values (pure): podnet's capacity at least half of
 * dnsmasq's, and its p99 latency at a fixed rate at most twice dnsmasq's.
 */
import type { PodnetBuild } from "../support/bench-run.ts";
import type { FailureReport } from "../support/failures.ts";
import { failureReport } from "../support/failures.ts";
import type { Machine } from "../support/machine.ts";
import type { Summary } from "../support/stats.ts";
import { ratio, round3, roundSummary, summarize } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import { judge } from "../support/targets.ts";
import type { AnswerComparison } from "./answer-check.ts";
import type { LoadResults, MeasuredRun } from "./measure.ts";
import type { ProcessMemory } from "./proc-status.ts";
import { MIX, QUERY_KINDS, type QueryKind } from "./query-mix.ts";
import type { Subject } from "./subjects.ts";

export const TARGETS = {
  capacityRatio: { min: 0.5, text: "≥ 0.5× dnsmasq" },
  p99Ratio: { max: 2, text: "≤ 2× dnsmasq" },
} as const;

export interface BenchOptions {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly queries: number;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly clients: number;
  readonly outstanding: number;
  readonly rate: number | null;
  readonly seed: number;
}

export interface ServerFacts {
  readonly startMs: number;
  readonly memoryAtStart: ProcessMemory | null;
  readonly memoryAtEnd: ProcessMemory | null;
}

/** The agent's own memory with the same Services, when dist/podnet serves DNS. */
export type AgentMemory =
  | {
      readonly measured: true;
      readonly services: number;
      readonly endpoints: number;
      /** VmRSS and VmHWM once its DNS answers the last Service and endpoint. */
      readonly memory: ProcessMemory;
      /** VmRSS when it got ready, before any Service existed. */
      readonly emptyRssMiB: number | null;
      /** From the first datastore write to the last Service and endpoint answered. */
      readonly convergeMs: number;
    }
  | { readonly measured: false; readonly reason: string };

export interface RawResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine & { readonly dnsperf: string; readonly dnsmasq: string };
  /** The build whose agent was measured (the DNS server itself runs from src/ under Bun). */
  readonly podnet: PodnetBuild;
  readonly options: BenchOptions;
  readonly zone: { readonly hostLines: number; readonly srvLines: number };
  readonly answers: AnswerComparison | null;
  readonly servers: Readonly<Partial<Record<Subject, ServerFacts>>>;
  readonly load: LoadResults | null;
  readonly podnetCounters: {
    readonly queries: number;
    readonly dropped: Readonly<Record<string, number>>;
  } | null;
  readonly agent: AgentMemory;
  readonly failures: readonly string[];
}

export interface RunReport {
  readonly round: number;
  readonly queriesPerSecond: number;
  readonly completed: number;
  readonly lost: number;
  readonly avgLatencyMs: number;
  /** Server CPU time per query answered, in microseconds. */
  readonly cpuMicrosPerQuery: number | null;
  readonly wrongRcodes: number;
  readonly responseBytes: number;
}

export interface SubjectReport {
  readonly capacityRuns: readonly RunReport[];
  /** Median of the closed-loop runs. */
  readonly queriesPerSecond: number | null;
  readonly latencyRuns: readonly RunReport[];
  /** Every response of the fixed-rate runs, pooled, in ms. */
  readonly latencyMs: Summary | null;
  readonly latencyByKindMs: Readonly<Partial<Record<QueryKind, Summary>>>;
  readonly server: ServerFacts | null;
}

export interface BenchReport {
  readonly benchmark: "podnet-dns";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: RawResults["machine"];
  readonly podnet: PodnetBuild;
  readonly options: BenchOptions;
  readonly mix: Readonly<Record<QueryKind, number>>;
  readonly zone: RawResults["zone"];
  readonly answers: AnswerComparison | null;
  readonly latencyRate: number | null;
  readonly subjects: Readonly<Record<Subject, SubjectReport>>;
  /** podnet / dnsmasq. */
  readonly ratios: {
    readonly queriesPerSecond: number | null;
    readonly latencyP50: number | null;
    readonly latencyP99: number | null;
    readonly rssAtEnd: number | null;
  };
  readonly podnetCounters: RawResults["podnetCounters"];
  readonly agent: AgentMemory;
  readonly targets: readonly TargetCheck[];
  readonly failures: FailureReport;
}

const medianOf = (values: readonly number[]): number | null =>
  values.length === 0 ? null : summarize(values).p50;
const r3 = (v: number | null): number | null => (v === null ? null : round3(v));
const roundMemory = (m: ProcessMemory | null): ProcessMemory | null =>
  m === null ? null : { rssMiB: round3(m.rssMiB), hwmMiB: round3(m.hwmMiB) };

function runReport(r: MeasuredRun): RunReport {
  const s = r.summary;
  return {
    round: r.round,
    queriesPerSecond: round3(s.queriesPerSecond),
    completed: s.completed,
    lost: s.lost,
    avgLatencyMs: round3(s.avgLatencyMs),
    cpuMicrosPerQuery: s.completed > 0 ? round3((r.serverCpuSeconds * 1e6) / s.completed) : null,
    wrongRcodes: r.wrongRcodes,
    responseBytes: s.responseBytes,
  };
}

interface Unrounded {
  readonly qps: number | null;
  readonly latency: Summary | null;
}

function unrounded(raw: RawResults, subject: Subject): Unrounded {
  const capacity = raw.load?.capacity.filter((r) => r.subject === subject) ?? [];
  const all = raw.load?.samples[subject].all ?? [];
  return {
    qps: medianOf(capacity.map((r) => r.summary.queriesPerSecond)),
    latency: all.length > 0 ? summarize(all, `${subject} latency`) : null,
  };
}

function subjectReport(raw: RawResults, subject: Subject): SubjectReport {
  const u = unrounded(raw, subject);
  const byKind: Partial<Record<QueryKind, Summary>> = {};
  for (const kind of QUERY_KINDS) {
    const samples = raw.load?.samples[subject].byKind[kind] ?? [];
    if (samples.length > 0) byKind[kind] = roundSummary(summarize(samples, `${subject} ${kind}`));
  }
  const server = raw.servers[subject];
  return {
    capacityRuns: (raw.load?.capacity ?? []).filter((r) => r.subject === subject).map(runReport),
    queriesPerSecond: r3(u.qps),
    latencyRuns: (raw.load?.latency ?? []).filter((r) => r.subject === subject).map(runReport),
    latencyMs: u.latency === null ? null : roundSummary(u.latency),
    latencyByKindMs: byKind,
    server:
      server === undefined
        ? null
        : {
            startMs: round3(server.startMs),
            memoryAtStart: roundMemory(server.memoryAtStart),
            memoryAtEnd: roundMemory(server.memoryAtEnd),
          },
  };
}

const ratioOrNull = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined ? null : ratio(a, b);

export function judgeTargets(raw: RawResults): TargetCheck[] {
  const p = unrounded(raw, "podnet");
  const d = unrounded(raw, "dnsmasq");
  return [
    judge("queries/s, podnet / dnsmasq", ratioOrNull(p.qps, d.qps), TARGETS.capacityRatio, 2),
    judge(
      `p99 latency at ${raw.load?.rate ?? "?"} q/s, podnet / dnsmasq`,
      ratioOrNull(p.latency?.p99, d.latency?.p99),
      TARGETS.p99Ratio,
      2,
    ),
  ];
}

export function buildReport(raw: RawResults): BenchReport {
  const p = unrounded(raw, "podnet");
  const d = unrounded(raw, "dnsmasq");
  return {
    benchmark: "podnet-dns",
    startedAt: raw.startedAt,
    durationSeconds: round3(raw.durationSeconds),
    machine: raw.machine,
    podnet: raw.podnet,
    options: raw.options,
    mix: MIX,
    zone: raw.zone,
    answers: raw.answers,
    latencyRate: raw.load?.rate ?? null,
    subjects: { podnet: subjectReport(raw, "podnet"), dnsmasq: subjectReport(raw, "dnsmasq") },
    ratios: {
      queriesPerSecond: r3(ratioOrNull(p.qps, d.qps)),
      latencyP50: r3(ratioOrNull(p.latency?.p50, d.latency?.p50)),
      latencyP99: r3(ratioOrNull(p.latency?.p99, d.latency?.p99)),
      rssAtEnd: r3(
        ratioOrNull(raw.servers.podnet?.memoryAtEnd?.rssMiB, raw.servers.dnsmasq?.memoryAtEnd?.rssMiB),
      ),
    },
    podnetCounters: raw.podnetCounters,
    agent: raw.agent.measured
      ? { ...raw.agent, memory: roundMemory(raw.agent.memory) as ProcessMemory }
      : raw.agent,
    targets: judgeTargets(raw),
    failures: failureReport(raw.failures),
  };
}
