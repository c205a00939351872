/**
 * `podnet lab up -f cluster.yaml`: a custom lab layout (pure parsing and validation). Segments
 * must lie in the documentation ranges, so a lab can never claim addresses that are real
 * somewhere; nodes are numbered on their segment from .11 on (::11 in IPv6); the router takes .1
 * (::1) everywhere.
 *
 *   ipFamily: dual           # ipv4 | ipv6 | dual (IPv4 primary); --ip-family overrides it
 *   backend: auto            # host-gw | vxlan | auto | bgp (bgp: the router runs BIRD, a VM joins)
 *   mode: bridge             # bridge | ptp
 *   datastore: sqlite        # sqlite | etcd
 *   clusterCidr: [10.244.0.0/16, fd00:10:244::/56]   # one per family, in the lab's order
 *   serviceCidrs: [10.96.0.0/12, fd00:10:96::/112]   # the same; both default to these
 *   podsPerNode: 2
 *   segments:
 *     - { name: lan1, cidr: 192.0.2.0/24, cidr6: 2001:db8:1::/64 }
 *     - { name: lan2, cidr: 198.51.100.0/25 }    # cidr6 derived: 2001:db8:2::/64
 *   nodes:
 *     - { name: node1, segment: lan1 }
 *     - { name: node2, segment: lan2 }
 *
 * `cidr` (IPv4) is required when the lab runs IPv4, and `cidr6` (in 2001:db8::/32) defaults to
 * 2001:db8:N::/64 for the Nth segment; a range of a family the lab does not run is not used.
 * `clusterCidr`/`serviceCidrs`, when given, must list one range per family of the lab, also when
 * --ip-family sets the families (leave them out and the lab's defaults of those families apply).
 * They are held to the agent's rules, must leave a node block per node and per family, must not
 * overlap a segment, and must not hold the node-local DNS address (cluster-file-ranges.ts).
 * Every range is kept in canonical text.
 */
import type { Backend } from "../cluster/node-record.ts";
import { BACKENDS, NODE_NAME } from "../cluster/node-record.ts";
import type { Family } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { containsPrefix, formatPrefix, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";
import { ipFamilyName } from "../k8s/service-model.ts";
import { ClusterFileError } from "./cluster-file-error.ts";
import { checkLabRanges, cidrList, prefixOf } from "./cluster-file-ranges.ts";
import type { IpFamilyFlag } from "./lab-families.ts";
import { familiesOf, IP_FAMILY_FLAGS } from "./lab-families.ts";
import type { HostSpec, Segment, Topology } from "./topology.ts";
import {
  hostOn,
  segmentOf as labSegment,
  MAX_LAB_NODES,
  segmentCidrs,
  TopologyError,
  VPC_HOST_NAME,
} from "./topology.ts";

export { ClusterFileError } from "./cluster-file-error.ts";

export interface ClusterFile {
  readonly topology: Topology;
  /** The lab's families: the file's `ipFamily`, or the one it was parsed for; ipv4 by default. */
  readonly ipFamily: IpFamilyFlag;
  readonly backend?: Backend;
  readonly mode?: "bridge" | "ptp";
  readonly datastore?: "sqlite" | "etcd";
  /** One per lab family, in the lab's order. */
  readonly clusterCidrs?: readonly string[];
  readonly serviceCidrs?: readonly string[];
  readonly podsPerNode?: number;
}

const DOCUMENTATION_RANGES: Readonly<Record<Family, readonly IPPrefix[]>> = {
  4: ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map((c) => parsePrefix(c)),
  6: [parsePrefix("2001:db8::/32")],
};
/** The external host's segment when the file names no `ext`. */
const EXTERNAL: Readonly<Record<Family, string>> = { 4: "203.0.113.0/24", 6: "2001:db8:ff::/64" };
/** The smallest segment per family that holds a router and nodes. */
const MAX_SEGMENT_LENGTH: Readonly<Record<Family, number>> = { 4: 26, 6: 120 };
const SEGMENT_NAME = /^[a-z][a-z0-9]{0,9}$/;

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ClusterFileError(field, "must be a mapping");
  return v as Record<string, unknown>;
}

function optionalOf<T extends string>(
  obj: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
): T | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !allowed.includes(v as T))
    throw new ClusterFileError(key, `must be one of ${allowed.join(", ")}`);
  return v as T;
}

/** One range of a segment: in the family's documentation range, and large enough. */
function segmentRange(text: unknown, field: string, family: Family): string {
  const cidr = prefixOf(text, field);
  const where = `${field} "${String(text)}"`;
  if (cidr.family !== family) throw new ClusterFileError(where, `must be an ${ipFamilyName(family)} range`);
  if (!DOCUMENTATION_RANGES[family].some((d) => containsPrefix(d, cidr))) {
    const ranges = family === 4 ? "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24" : "2001:db8::/32";
    throw new ClusterFileError(where, `must lie in a documentation range (${ranges})`);
  }
  if (cidr.length > MAX_SEGMENT_LENGTH[family])
    throw new ClusterFileError(
      where,
      `is too small for a router and nodes (use /${MAX_SEGMENT_LENGTH[family]} or larger)`,
    );
  return formatPrefix(cidr);
}

function segmentOf(v: unknown, i: number, families: readonly Family[]): Segment {
  const s = record(v, `segments[${i}]`);
  if (typeof s.name !== "string" || !SEGMENT_NAME.test(s.name))
    throw new ClusterFileError(`segments[${i}].name`, "must be a short lowercase name (e.g. lan1)");
  const ranges: Record<Family, string | undefined> = {
    4: s.cidr === undefined ? undefined : segmentRange(s.cidr, `segments[${i}].cidr`, 4),
    6: s.cidr6 === undefined ? undefined : segmentRange(s.cidr6, `segments[${i}].cidr6`, 6),
  };
  if (families.includes(4) && ranges[4] === undefined)
    throw new ClusterFileError(`segments[${i}].cidr`, "is required (the lab runs IPv4)");
  const cidrs = families.map((f) => ranges[f] ?? `2001:db8:${(i + 1).toString(16)}::/64`);
  return labSegment(s.name, cidrs);
}

function checkSegments(segments: readonly Segment[]): void {
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const a = segments[i] as Segment;
      const b = segments[j] as Segment;
      if (a.name === b.name) throw new ClusterFileError("segments", `name "${a.name}" is used twice`);
      for (const ca of segmentCidrs(a))
        for (const cb of segmentCidrs(b))
          if (prefixesOverlap(parsePrefix(ca), parsePrefix(cb)))
            throw new ClusterFileError("segments", `"${a.name}" (${ca}) and "${b.name}" (${cb}) overlap`);
    }
  }
}

/** The external host's segment: the file's `ext`, or the default ranges, which must then be free. */
function externalSegment(segments: readonly Segment[], families: readonly Family[]): Segment {
  const ext = segments.find((s) => s.name === "ext");
  if (ext) return ext;
  for (const f of families) {
    const range = parsePrefix(EXTERNAL[f]);
    if (segments.some((s) => segmentCidrs(s).some((c) => prefixesOverlap(parsePrefix(c), range))))
      throw new ClusterFileError(
        "segments",
        `must leave ${EXTERNAL[f]} to the external host, or name a segment "ext"`,
      );
  }
  return labSegment(
    "ext",
    families.map((f) => EXTERNAL[f]),
  );
}

/** A host on a segment (topology's numbering), its refusal as the file's error. */
function hostIn(seg: Segment, name: string, hostNumber: number): HostSpec {
  try {
    return hostOn(seg, name, hostNumber);
  } catch (e) {
    if (e instanceof TopologyError) throw new ClusterFileError("", e.message);
    throw e;
  }
}

/**
 * Parses a cluster file. `ipFamily` (the --ip-family flag) overrides the file's own; without
 * either the lab is IPv4 only.
 */
export function parseClusterFile(
  text: string,
  options: { readonly ipFamily?: IpFamilyFlag } = {},
): ClusterFile {
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(text);
  } catch (e) {
    throw new ClusterFileError("the text", `is not YAML: ${(e as Error).message}`);
  }
  const doc = record(raw, "the document");
  const fileFamily = optionalOf(doc, "ipFamily", IP_FAMILY_FLAGS);
  const ipFamily = options.ipFamily ?? fileFamily ?? "ipv4";
  const families = familiesOf(ipFamily);
  const source = options.ipFamily ? "--ip-family" : fileFamily ? "ipFamily" : "the default";
  const lab = { families, source: `${ipFamily}, from ${source}` };
  if (!Array.isArray(doc.segments) || doc.segments.length === 0)
    throw new ClusterFileError("segments", "must list at least one segment");
  if (!Array.isArray(doc.nodes) || doc.nodes.length === 0)
    throw new ClusterFileError("nodes", "must list at least one node");
  if (doc.nodes.length > MAX_LAB_NODES)
    throw new ClusterFileError("nodes", `may list at most ${MAX_LAB_NODES}`);
  const segments = doc.segments.map((v, i) => segmentOf(v, i, families));
  checkSegments(segments);
  const ext = externalSegment(segments, families);
  if (!segments.includes(ext)) segments.push(ext);
  const counters = new Map<string, number>();
  const names = new Set<string>();
  const nodes = doc.nodes.map((v, i) => {
    const n = record(v, `nodes[${i}]`);
    if (typeof n.name !== "string" || !NODE_NAME.test(n.name) || n.name.length > 20) {
      throw new ClusterFileError(`nodes[${i}].name`, "must be a short DNS-label-like name (a-z, 0-9, -)");
    }
    if (names.has(n.name) || ["external", "datastore", "router", VPC_HOST_NAME].includes(n.name))
      throw new ClusterFileError(`nodes[${i}].name "${n.name}"`, "is taken");
    names.add(n.name);
    const seg = segments.find((s) => s.name === n.segment && s.name !== "ext");
    if (!seg)
      throw new ClusterFileError(
        `nodes[${i}].segment`,
        `must name one of the segments (${segments
          .filter((s) => s.name !== "ext")
          .map((s) => s.name)
          .join(", ")})`,
      );
    const count = (counters.get(seg.name) ?? 0) + 1;
    counters.set(seg.name, count);
    return hostIn(seg, n.name, 10 + count);
  });
  const podsPerNode = doc.podsPerNode;
  if (
    podsPerNode !== undefined &&
    (!Number.isInteger(podsPerNode) || (podsPerNode as number) < 1 || (podsPerNode as number) > 26)
  ) {
    throw new ClusterFileError("podsPerNode", "must be an integer from 1 to 26");
  }
  const cluster = cidrList(doc, "clusterCidr", "clusterCidrs", lab);
  const service = cidrList(doc, "serviceCidr", "serviceCidrs", lab);
  checkLabRanges({ families, cluster, service, segments, nodeCount: nodes.length });
  const backend = optionalOf(doc, "backend", BACKENDS);
  const mode = optionalOf(doc, "mode", ["bridge", "ptp"] as const);
  const datastore = optionalOf(doc, "datastore", ["sqlite", "etcd"] as const);
  const first = segments[0] as Segment;
  return {
    topology: {
      segments,
      nodes,
      external: hostIn(ext, "external", 100),
      datastore: hostIn(first, "datastore", 2),
    },
    ipFamily,
    ...(backend ? { backend } : {}),
    ...(mode ? { mode } : {}),
    ...(datastore ? { datastore } : {}),
    ...(cluster ? { clusterCidrs: cluster.cidrs } : {}),
    ...(service ? { serviceCidrs: service.cidrs } : {}),
    ...(podsPerNode !== undefined ? { podsPerNode: podsPerNode as number } : {}),
  };
}
