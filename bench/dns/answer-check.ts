/**
 * Whether the two servers give the same answers (pure): each answer reduced to its rcode and its
 * sorted answer records ("TYPE TTL DATA", names lowercased), then compared query by query and
 * against the rcode the query mix expects. Sections other than the answer differ by design
 * (podnet adds the zone's SOA to a negative answer, dnsmasq does not) and are not compared.
 */
import type { Answer } from "dns-packet";

export interface ServerAnswer {
  /** "NAME TYPE", as in the query file. */
  readonly query: string;
  /** The rcode name, or "TIMEOUT" / "ERROR: …" when no answer could be read. */
  readonly rcode: string;
  readonly records: readonly string[];
}

/** An answer record as compared: "A 5 10.96.0.1", "SRV 5 0 100 80 svc-00000.bench.svc.cluster.local". */
export function recordText(a: Answer): string {
  const ttl = "ttl" in a ? (a.ttl ?? 0) : 0;
  switch (a.type) {
    case "A":
    case "AAAA":
    case "PTR":
    case "CNAME":
      return `${a.type} ${ttl} ${String(a.data).toLowerCase()}`;
    case "SRV":
      return `SRV ${ttl} ${a.data.priority ?? 0} ${a.data.weight ?? 0} ${a.data.port} ${a.data.target.toLowerCase()}`;
    default:
      return `${a.type} ${ttl} ${JSON.stringify("data" in a ? a.data : null)}`;
  }
}

export interface AnswerComparison {
  readonly compared: number;
  /** Queries whose answers differ between the servers, or from the expected rcode; the first ten. */
  readonly differences: readonly string[];
  readonly differenceCount: number;
}

/** Compares the two servers' answers to the same queries, in the same order. */
export function compareAnswers(
  podnet: readonly ServerAnswer[],
  dnsmasq: readonly ServerAnswer[],
  expected: ReadonlyMap<string, string>,
): AnswerComparison {
  const differences: string[] = [];
  const n = Math.max(podnet.length, dnsmasq.length);
  for (let i = 0; i < n; i++) {
    const p = podnet[i];
    const d = dnsmasq[i];
    if (p === undefined || d === undefined || p.query !== d.query) {
      differences.push(`query #${i}: the servers were asked different things (${p?.query} / ${d?.query})`);
      continue;
    }
    const want = expected.get(p.query);
    const problems: string[] = [];
    if (want !== undefined && p.rcode !== want) problems.push(`podnet ${p.rcode}, expected ${want}`);
    if (want !== undefined && d.rcode !== want) problems.push(`dnsmasq ${d.rcode}, expected ${want}`);
    const pr = [...p.records].sort().join("; ");
    const dr = [...d.records].sort().join("; ");
    if (pr !== dr) problems.push(`podnet [${pr}] but dnsmasq [${dr}]`);
    if (problems.length > 0) differences.push(`${p.query}: ${problems.join(", ")}`);
  }
  return { compared: n, differences: differences.slice(0, 10), differenceCount: differences.length };
}
