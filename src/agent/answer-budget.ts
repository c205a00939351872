/**
 * Keeps an agent's diagnosis answer under MAX_ANSWER_BYTES serialized (cluster/diagnosis-protocol.ts;
 * etcd refuses a request over 1.5 MiB and the whole answer would be lost). Pure: the lists that can
 * grow with the cluster are cut, first the least useful, keeping their first entries, and each cut
 * is said in the answer's `errors`, so a reader knows the list is partial.
 */
import type { NodeFacts, NodeObservation } from "../cluster/diagnosis-protocol.ts";
import { MAX_ANSWER_BYTES } from "../cluster/diagnosis-protocol.ts";
import { tryParseIP } from "../ipnet/address.ts";
import type { NftTableFamily } from "../linux/kernel-facts.ts";
import { isOfTable, proxyTableOf } from "../linux/nft-table-family.ts";

const encoder = new TextEncoder();

export function serializedBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).byteLength;
}

/** One list of the answer that may be cut: how to read it and how to put a shorter one back. */
interface Cuttable<T> {
  readonly name: string;
  readonly get: (v: T) => readonly unknown[];
  readonly set: (v: T, list: readonly unknown[]) => T;
}

/**
 * Pure: `value` with its lists cut (in `order`, each down to what fits, at least to nothing) until
 * it serializes within `maxBytes`, and what was cut appended to its errors.
 */
function fit<T extends { readonly errors: readonly string[] }>(
  value: T,
  order: readonly Cuttable<T>[],
  what: string,
  maxBytes: number,
): T {
  if (serializedBytes(value) <= maxBytes) return value;
  let out = value;
  const cuts: string[] = [];
  // Room for the notes themselves.
  const budget = maxBytes - 4096;
  for (const c of order) {
    const list = c.get(out);
    if (list.length === 0) continue;
    const over = serializedBytes(out) - budget;
    if (over <= 0) break;
    // Keep the longest prefix whose removal of the tail brings the size under the budget.
    let keep = list.length;
    let removed = 0;
    while (keep > 0 && removed < over) {
      keep--;
      removed += serializedBytes(list[keep]) + 1;
    }
    out = c.set(out, list.slice(0, keep));
    cuts.push(
      `${what}: ${c.name} cut to the first ${keep} of ${list.length} (answer size limit ${maxBytes} bytes)`,
    );
  }
  return { ...out, errors: [...out.errors, ...cuts] };
}

const OBSERVATION_CUTS: readonly Cuttable<NodeObservation>[] = [
  {
    name: "trace events",
    get: (o) => o.events,
    set: (o, l) => ({ ...o, events: l as NodeObservation["events"] }),
  },
  {
    name: "conntrack entries",
    get: (o) => o.conntrack,
    set: (o, l) => ({ ...o, conntrack: l as NodeObservation["conntrack"] }),
  },
  {
    name: "counters",
    get: (o) => o.counters,
    set: (o, l) => ({ ...o, counters: l as NodeObservation["counters"] }),
  },
];

/**
 * The chains and the sets of one proxy table, each cut without touching the other table's (which
 * keeps its place: the IPv4 table first, as the agent reads them). `table` names it in the note
 * ("ip podnet-b").
 */
function nftCuts(family: 4 | 6, table: string): readonly [Cuttable<NodeFacts>, Cuttable<NodeFacts>] {
  const mine = (x: { readonly family?: NftTableFamily }) => isOfTable(x, family);
  const join = <T>(kept: readonly T[], others: readonly T[]) =>
    family === 4 ? [...kept, ...others] : [...others, ...kept];
  return [
    {
      name: `nft chains of ${table}`,
      get: (f) => f.nft.chains.filter(mine),
      set: (f, l) => ({
        ...f,
        nft: {
          ...f.nft,
          chains: join(
            l as NodeFacts["nft"]["chains"],
            f.nft.chains.filter((x) => !mine(x)),
          ),
        },
      }),
    },
    {
      name: `nft sets and maps of ${table}`,
      get: (f) => f.nft.sets.filter(mine),
      set: (f, l) => ({
        ...f,
        nft: {
          ...f.nft,
          sets: join(
            l as NodeFacts["nft"]["sets"],
            f.nft.sets.filter((x) => !mine(x)),
          ),
        },
      }),
    },
  ];
}

const REST_CUTS: readonly Cuttable<NodeFacts>[] = [
  {
    name: "releases",
    get: (f) => f.releases,
    set: (f, l) => ({ ...f, releases: l as NodeFacts["releases"] }),
  },
  {
    name: "conntrack entries",
    get: (f) => f.conntrack,
    set: (f, l) => ({ ...f, conntrack: l as NodeFacts["conntrack"] }),
  },
  {
    name: "neighbours",
    get: (f) => f.neighbours,
    set: (f, l) => ({ ...f, neighbours: l as NodeFacts["neighbours"] }),
  },
  { name: "fdb entries", get: (f) => f.fdb, set: (f, l) => ({ ...f, fdb: l as NodeFacts["fdb"] }) },
  { name: "pods", get: (f) => f.pods, set: (f, l) => ({ ...f, pods: l as NodeFacts["pods"] }) },
  {
    name: "allocations",
    get: (f) => f.allocations,
    set: (f, l) => ({ ...f, allocations: l as NodeFacts["allocations"] }),
  },
  { name: "routes", get: (f) => f.routes, set: (f, l) => ({ ...f, routes: l as NodeFacts["routes"] }) },
  {
    name: "interfaces",
    get: (f) => f.interfaces,
    set: (f, l) => ({ ...f, interfaces: l as NodeFacts["interfaces"] }),
  },
];

/** The observation within `maxBytes`: trace events first, then conntrack, then counters are cut. */
export function fitObservation(o: NodeObservation, maxBytes = MAX_ANSWER_BYTES): NodeObservation {
  return fit(o, OBSERVATION_CUTS, "observation", maxBytes);
}

/**
 * The order the facts' lists are cut in. The proxy's tables go first, chains before sets,
 * and of each the table of the family the request is not about before the one it is about (IPv6
 * before IPv4 when it is about both or neither); the node's own links go last.
 */
function factsCuts(about: readonly (4 | 6)[], nft: NodeFacts["nft"]): Cuttable<NodeFacts>[] {
  const order = ([6, 4] as const).filter((f) => !about.includes(f));
  const tables = [...order, ...([6, 4] as const).filter((f) => about.includes(f))].map((f) =>
    nftCuts(f, proxyTableOf(nft, f)),
  );
  return [...tables.map(([chains]) => chains), ...tables.map(([, sets]) => sets), ...REST_CUTS];
}

/** The address families a request is about: those of its addresses (DiagnosisRequest.addresses). */
export function requestFamilies(addresses: readonly string[]): (4 | 6)[] {
  const families = new Set(addresses.map((a) => tryParseIP(a)?.family));
  return ([4, 6] as const).filter((f) => families.has(f));
}

/**
 * The facts within `maxBytes`. `about`: the address families of the request's addresses, whose
 * proxy table is kept longest.
 */
export function fitFacts(
  f: NodeFacts,
  maxBytes = MAX_ANSWER_BYTES,
  about: readonly (4 | 6)[] = [],
): NodeFacts {
  return fit(f, factsCuts(about, f.nft), "facts", maxBytes);
}
