/**
 * The DNS claims `lab check` proves, as pure judgements over what pods were answered (the
 * observations are gathered in dns-check.ts). Every verdict can fail, and its evidence says what
 * was asked and answered.
 */
import type { Verdict } from "./claims.ts";
import { answerData, type DnsLookup, formatLookup } from "./dns-lookup.ts";
import type { Outcome } from "./dns-query.ts";

function verdict(claim: string, problems: readonly string[], evidence: string): Verdict {
  return { ok: problems.length === 0, claim, evidence: problems.length ? problems.join("; ") : evidence };
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** A name looked up with glibc (`getent ahostsv4` or `ahostsv6`) from a pod, and the addresses it must give. */
export interface GlibcLookup {
  readonly pod: string;
  readonly name: string;
  readonly expected: readonly string[];
  readonly outcome: Outcome<string[]>;
}

function glibcProblems(lookups: readonly GlibcLookup[]): { problems: string[]; seen: string[] } {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const l of lookups) {
    if (l.outcome.kind === "error") {
      problems.push(`${l.pod}: ${l.outcome.message}`);
      continue;
    }
    const got = l.outcome.value;
    if (!same(got, l.expected))
      problems.push(
        `${l.pod} resolved ${l.name} to ${got.join(",") || "nothing"}, not ${l.expected.join(",")}`,
      );
    seen.push(`${l.pod}: ${l.name} → ${got.join(",")}`);
  }
  if (lookups.length === 0) problems.push("nothing looked up");
  return { problems, seen };
}

/** The pod's /etc/resolv.conf (as `ip netns exec` shows it) names the nameservers of its CNI result. */
export interface PodResolver {
  readonly pod: string;
  /** From the pod's CNI ADD result; empty when it carried no `dns`. */
  readonly expected: readonly string[];
  readonly seen: Outcome<{ readonly nameservers: readonly string[]; readonly search: readonly string[] }>;
}

function resolverProblems(r: PodResolver): string[] {
  if (r.expected.length === 0) return [`${r.pod}'s CNI result carries no dns nameserver`];
  if (r.seen.kind === "error") return [`${r.pod}'s /etc/resolv.conf: ${r.seen.message}`];
  if (!same(r.seen.value.nameservers, r.expected))
    return [
      `${r.pod}'s /etc/resolv.conf names ${r.seen.value.nameservers.join(",") || "no nameserver"}, not its CNI result's ${r.expected.join(",")}`,
    ];
  return [];
}

/** Full name, through the resolv.conf the lab wrote from the pod's CNI result. */
export function resolvesFullName(resolver: PodResolver, lookup: GlibcLookup): Verdict {
  const claim = `a pod resolves a Service by its full name (${lookup.name}) to its ClusterIP, through the nameserver of its CNI result`;
  const { problems, seen } = glibcProblems([lookup]);
  problems.unshift(...resolverProblems(resolver));
  const ns = resolver.seen.kind === "ok" ? resolver.seen.value.nameservers.join(",") : "?";
  return verdict(claim, problems, `${seen.join("")} (nameserver ${ns})`);
}

/** Short names through the search path: `echo` is the Service of the asking pod's namespace. */
export function resolvesShortName(resolver: PodResolver, lookup: GlibcLookup): Verdict {
  const claim = `a pod resolves a Service of its namespace by its short name (${lookup.name}) through its search path`;
  const { problems, seen } = glibcProblems([lookup]);
  problems.unshift(...resolverProblems(resolver));
  const search = resolver.seen.kind === "ok" ? resolver.seen.value.search.join(" ") : "?";
  return verdict(claim, problems, `${seen.join("")} (search ${search})`);
}

/**
 * From a pod in another namespace: NAME.NS reaches the other namespace's Service, and the short
 * name that namespace's own one (the search path follows the pod's namespace).
 */
export function resolvesAcrossNamespaces(resolver: PodResolver, lookups: readonly GlibcLookup[]): Verdict {
  const claim =
    "a pod in another namespace resolves NAME.NAMESPACE to that namespace's Service and NAME to its own namespace's";
  const { problems, seen } = glibcProblems(lookups);
  problems.unshift(...resolverProblems(resolver));
  return verdict(claim, problems, seen.join("; "));
}

/** A headless Service's name answers one A record per ready endpoint, and nothing else. */
export function headlessResolvesToReadyPods(
  service: string,
  readyEndpoints: readonly string[],
  lookup: Outcome<DnsLookup>,
): Verdict {
  const claim = `the headless Service ${service} resolves to the addresses of its ready pods`;
  if (lookup.kind === "error") return verdict(claim, [lookup.message], "");
  const got = answerData(lookup.value);
  const problems: string[] = [];
  if (readyEndpoints.length === 0) problems.push(`${service} has no ready endpoint: nothing to compare`);
  if (lookup.value.rcode !== "NOERROR") problems.push(`answered ${lookup.value.rcode}`);
  if (!same(got, readyEndpoints))
    problems.push(
      `answered ${got.join(",") || "no address"}, the ready endpoints are ${readyEndpoints.join(",")}`,
    );
  return verdict(claim, problems, `${formatLookup(lookup.value)} (${readyEndpoints.length} ready endpoints)`);
}

/** One question and the answer data it must get (exactly, order aside). */
export interface ExpectedAnswer {
  readonly what: string;
  readonly expected: readonly string[];
  readonly lookup: Outcome<DnsLookup>;
  /** Applied to each answer's data before comparing (e.g. SRV without priority and weight). */
  readonly normalize?: (data: string) => string;
}

function expectedProblems(checks: readonly ExpectedAnswer[]): { problems: string[]; seen: string[] } {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const c of checks) {
    if (c.lookup.kind === "error") {
      problems.push(`${c.what}: ${c.lookup.message}`);
      continue;
    }
    const got = answerData(c.lookup.value).map(c.normalize ?? ((d) => d));
    if (c.lookup.value.rcode !== "NOERROR" || !same(got, c.expected))
      problems.push(`${c.what}: ${formatLookup(c.lookup.value)}, expected ${c.expected.join(", ")}`);
    else seen.push(formatLookup(c.lookup.value));
  }
  if (checks.length === 0) problems.push("nothing asked");
  return { problems, seen };
}

/** SRV for named ports (ClusterIP and headless) and PTR for a ClusterIP. */
export function srvAndPtrAnswer(checks: readonly ExpectedAnswer[]): Verdict {
  const claim =
    "SRV records answer for named ports (of a ClusterIP and of a headless Service), PTR for a ClusterIP";
  const { problems, seen } = expectedProblems(checks);
  return verdict(claim, problems, seen.join("; "));
}

/**
 * Names outside the cluster domain reach the lab's upstream (dnsmasq on the external host): the
 * address through glibc, and the answers asked of the pod's nameserver (a TXT; in a dual lab also
 * the AAAA of the same name).
 */
export function forwardsOutsideNames(glibc: GlibcLookup, ...answers: readonly ExpectedAnswer[]): Verdict {
  const claim = `a pod resolves names outside the cluster (${glibc.name}) through its node's DNS, forwarded to the external host's dnsmasq`;
  const a = glibcProblems([glibc]);
  const t = expectedProblems(answers);
  return verdict(claim, [...a.problems, ...t.problems], [...a.seen, ...t.seen].join("; "));
}

export const DNS_AAAA_CLAIM =
  "a pod resolves a dual-stack Service to both ClusterIPs (A and AAAA), a headless Service to its ready pods' IPv6 addresses, and an IPv6 ClusterIP back by PTR (ip6.arpa)";

/**
 * The dual lab's DNS AAAA claim: `answers` are the A and AAAA of a dual-stack Service and the PTR
 * of its IPv6 ClusterIP, asked of the pod's nameserver; `headless` is the headless Service
 * resolved with glibc's `ahostsv6` (IPv4-mapped answers do not count).
 */
export function resolvesBothFamilies(answers: readonly ExpectedAnswer[], headless: GlibcLookup): Verdict {
  const e = expectedProblems(answers);
  const g = glibcProblems([headless]);
  const problems = [...e.problems, ...g.problems];
  if (headless.expected.length === 0)
    problems.push(`${headless.name} has no ready IPv6 endpoint: nothing to compare`);
  return verdict(DNS_AAAA_CLAIM, problems, [...e.seen, ...g.seen].join("; "));
}

export interface ServiceLifecycle {
  readonly service: string;
  readonly clusterIP: string;
  /** Polled from the Service's creation until it answered with its ClusterIP (undefined: never). */
  readonly answeredAfterMs: number | undefined;
  readonly lastAfterCreate: Outcome<DnsLookup>;
  /** Polled from the Service's deletion until NXDOMAIN (undefined: never). */
  readonly nxdomainAfterMs: number | undefined;
  readonly lastAfterDelete: Outcome<DnsLookup>;
  readonly limitMs: number;
}

const describe = (o: Outcome<DnsLookup>) => (o.kind === "error" ? o.message : formatLookup(o.value));

/** A created Service is answered, and once deleted NXDOMAIN, each within the poll's limit. */
export function serviceChangesAnswered(o: ServiceLifecycle): Verdict {
  const claim = `a Service created is answered, and once deleted answers NXDOMAIN, each within ${o.limitMs / 1000} s`;
  const problems: string[] = [];
  if (o.answeredAfterMs === undefined)
    problems.push(
      `${o.service} was not answered with ${o.clusterIP} within ${o.limitMs} ms (last: ${describe(o.lastAfterCreate)})`,
    );
  if (o.nxdomainAfterMs === undefined)
    problems.push(
      `deleted, ${o.service} did not answer NXDOMAIN within ${o.limitMs} ms (last: ${describe(o.lastAfterDelete)})`,
    );
  return verdict(
    claim,
    problems,
    `${o.service} answered ${o.clusterIP} ${o.answeredAfterMs} ms after its creation, NXDOMAIN ${o.nxdomainAfterMs} ms after its deletion`,
  );
}
