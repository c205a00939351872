/**
 * The timed part of the DNS benchmark: the same dnsperf runs against both servers in alternation
 * (podnet, dnsmasq, podnet, dnsmasq, …) so that noise on the machine lands on both. First closed
 * loops (capacity), then fixed-rate runs with -v at a rate below both capacities (latency
 * percentiles: at capacity, latency is mostly the queue dnsperf keeps full).
 */
import type { BenchSandbox } from "../support/sandbox.ts";
import type { DnsperfSummary } from "./dnsperf-output.ts";
import { runDnsperf } from "./dnsperf-run.ts";
import { QUERY_KINDS, type QueryKind } from "./query-mix.ts";
import type { RunningServer, Subject } from "./subjects.ts";

export interface LoadOptions {
  readonly address: string;
  readonly queryFile: string;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly clients: number;
  readonly outstanding: number;
  /** The fixed rate; undefined: half the lower of the two measured capacities. */
  readonly rate: number | undefined;
}

export interface MeasuredRun {
  readonly subject: Subject;
  readonly round: number;
  readonly summary: DnsperfSummary;
  readonly serverCpuSeconds: number;
  /** Responses whose rcode is not the one the query mix expects (-v runs); else unexpected rcodes. */
  readonly wrongRcodes: number;
}

export interface LatencySamples {
  readonly all: number[];
  readonly byKind: Record<QueryKind, number[]>;
}

export interface LoadResults {
  readonly capacity: readonly MeasuredRun[];
  readonly rate: number | null;
  readonly latency: readonly MeasuredRun[];
  readonly samples: Readonly<Record<Subject, LatencySamples>>;
}

const emptySamples = (): LatencySamples => ({
  all: [],
  byKind: Object.fromEntries(QUERY_KINDS.map((k) => [k, []])) as unknown as Record<QueryKind, number[]>,
});

/** Responses with an rcode other than these cannot be right in this benchmark's zone. */
function unexpectedRcodes(s: DnsperfSummary): number {
  return Object.entries(s.rcodes)
    .filter(([rcode]) => rcode !== "NOERROR" && rcode !== "NXDOMAIN")
    .reduce((n, [, count]) => n + count, 0);
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
};

/** Rounds down to two significant digits: 18,634 → 18,000, 372 → 370. */
function twoDigits(n: number): number {
  if (n < 10) return Math.max(1, Math.floor(n));
  const unit = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.floor(n / unit) * unit;
}

/** The fixed rate: half the lower median capacity (two significant digits), so both keep up. */
export function latencyRate(capacity: readonly MeasuredRun[]): number | null {
  const perSubject = (s: Subject) =>
    capacity.filter((r) => r.subject === s).map((r) => r.summary.queriesPerSecond);
  const p = perSubject("podnet");
  const d = perSubject("dnsmasq");
  if (p.length === 0 || d.length === 0) return null;
  return twoDigits(0.5 * Math.min(median(p), median(d)));
}

export async function measureLoad(
  sandbox: BenchSandbox,
  netns: string,
  servers: readonly RunningServer[],
  options: LoadOptions,
  kindOf: ReadonlyMap<string, { readonly kind: QueryKind; readonly rcode: string }>,
  fail: (message: string) => void,
  progress: (message: string) => void,
): Promise<LoadResults> {
  let serial = 0;
  const outFile = (s: Subject) => `${sandbox.dir}/dnsperf-${++serial}-${s}.out`;
  const base = {
    address: options.address,
    queryFile: options.queryFile,
    clients: options.clients,
    outstanding: options.outstanding,
  };

  if (options.warmupSeconds > 0)
    for (const server of servers) {
      progress(`warm-up: ${server.subject}, ${options.warmupSeconds} s closed loop (not measured)`);
      await runDnsperf(
        sandbox,
        netns,
        server,
        { ...base, seconds: options.warmupSeconds },
        outFile(server.subject),
      ).catch((e: Error) => fail(`warm-up of ${server.subject}: ${e.message}`));
    }

  const capacity: MeasuredRun[] = [];
  for (let round = 1; round <= options.rounds; round++)
    for (const server of servers) {
      try {
        const r = await runDnsperf(
          sandbox,
          netns,
          server,
          { ...base, seconds: options.seconds },
          outFile(server.subject),
        );
        capacity.push({
          subject: server.subject,
          round,
          summary: r.summary,
          serverCpuSeconds: r.serverCpuSeconds,
          wrongRcodes: unexpectedRcodes(r.summary),
        });
        progress(
          `capacity round ${round}: ${server.subject} ${Math.round(r.summary.queriesPerSecond)} q/s, ${r.summary.lost} lost`,
        );
      } catch (e) {
        fail(`capacity round ${round}, ${server.subject}: ${(e as Error).message}`);
      }
    }

  const rate = options.rate ?? latencyRate(capacity);
  const samples: Record<Subject, LatencySamples> = { podnet: emptySamples(), dnsmasq: emptySamples() };
  const latency: MeasuredRun[] = [];
  if (rate === null) {
    fail("latency: no rate below both capacities (a capacity run failed and --rate was not given)");
    return { capacity, rate, latency, samples };
  }
  for (let round = 1; round <= options.rounds; round++)
    for (const server of servers) {
      const mine = samples[server.subject];
      let wrong = 0;
      try {
        const r = await runDnsperf(
          sandbox,
          netns,
          server,
          {
            ...base,
            seconds: options.seconds,
            rate,
            onResponse: (rcode, query, ms) => {
              const known = kindOf.get(query);
              if (known === undefined || known.rcode !== rcode) wrong++;
              mine.all.push(ms);
              if (known !== undefined) mine.byKind[known.kind].push(ms);
            },
          },
          outFile(server.subject),
        );
        if (r.verboseResponses !== r.summary.completed)
          fail(
            `latency round ${round}, ${server.subject}: ${r.verboseResponses} response lines for ${r.summary.completed} completed queries`,
          );
        latency.push({
          subject: server.subject,
          round,
          summary: r.summary,
          serverCpuSeconds: r.serverCpuSeconds,
          wrongRcodes: wrong,
        });
        progress(
          `latency round ${round}: ${server.subject} at ${rate} q/s, ${r.summary.completed} answered, ${r.summary.lost} lost`,
        );
      } catch (e) {
        fail(`latency round ${round}, ${server.subject}: ${(e as Error).message}`);
      }
    }
  return { capacity, rate, latency, samples };
}
