/**
 * The queries both servers are sent (pure): drawn with a seed from the benchmark's records, so
 * every query has a known answer, in a mix a pod's resolver produces — Service A lookups first,
 * SRV and PTR, pod names, and names that do not exist (what the search list of ndots:5 makes of
 * most lookups). dnsperf reads the file as "NAME TYPE" lines and loops over it.
 */
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { DOMAIN, type OwnedRecords } from "./bench-zone.ts";

export type QueryKind = "service A" | "SRV" | "PTR" | "pod A" | "NXDOMAIN";
export const QUERY_KINDS: readonly QueryKind[] = ["service A", "SRV", "PTR", "pod A", "NXDOMAIN"];

/** Shares of the mix, in percent. */
export const MIX: Readonly<Record<QueryKind, number>> = {
  "service A": 40,
  SRV: 15,
  PTR: 15,
  "pod A": 10,
  NXDOMAIN: 20,
};

export interface BenchQuery {
  readonly name: string;
  readonly type: "A" | "SRV" | "PTR";
  readonly kind: QueryKind;
  /** The rcode both servers must answer it with. */
  readonly rcode: "NOERROR" | "NXDOMAIN";
}

export class QueryMixError extends Error {
  override readonly name = "QueryMixError";
}

/** `count` queries drawn from `owned` with `seed`. */
export function queryMix(owned: Iterable<OwnedRecords>, count: number, seed: number): BenchQuery[] {
  if (!Number.isInteger(count) || count < 1) throw new QueryMixError(`Cannot draw ${count} queries`);
  const pools: Record<Exclude<QueryKind, "NXDOMAIN">, string[]> = {
    "service A": [],
    SRV: [],
    PTR: [],
    "pod A": [],
  };
  for (const { name, records } of owned) {
    const types = new Set(records.map((r) => r.type));
    if (types.has("A")) pools[name.endsWith(`.pod.${DOMAIN}`) ? "pod A" : "service A"].push(name);
    if (types.has("SRV")) pools.SRV.push(name);
    if (types.has("PTR")) pools.PTR.push(name);
  }
  for (const [kind, pool] of Object.entries(pools))
    if (pool.length === 0) throw new QueryMixError(`The records have no name for ${kind} queries`);
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const out: BenchQuery[] = [];
  for (let i = 0; i < count; i++) {
    const kind = drawKind(random());
    switch (kind) {
      case "NXDOMAIN":
        out.push({ name: `nx-${i}.bench.svc.${DOMAIN}`, type: "A", kind, rcode: "NXDOMAIN" });
        break;
      case "service A":
      case "pod A":
        out.push({ name: pick(pools[kind]), type: "A", kind, rcode: "NOERROR" });
        break;
      case "SRV":
      case "PTR":
        out.push({ name: pick(pools[kind]), type: kind, kind, rcode: "NOERROR" });
        break;
    }
  }
  return out;
}

function drawKind(u: number): QueryKind {
  let at = u * 100;
  for (const kind of QUERY_KINDS) {
    at -= MIX[kind];
    if (at < 0) return kind;
  }
  return "NXDOMAIN";
}

/** dnsperf's input: one "NAME TYPE" per line. */
export function queryFileText(queries: readonly BenchQuery[]): string {
  return `${queries.map(queryKey).join("\n")}\n`;
}

/** How dnsperf -v names a query: its input line. */
export function queryKey(q: Pick<BenchQuery, "name" | "type">): string {
  return `${q.name} ${q.type}`;
}
