/**
 * `podnet lab up -f cluster.yaml`: a custom lab layout (pure parsing and validation). Segments
 * must lie in the documentation ranges, so a lab can never claim addresses that are real
 * somewhere; nodes are numbered on their segment from .11 on; the router takes .1 everywhere.
 *
 *   backend: auto            # host-gw | vxlan | auto
 *   mode: bridge             # bridge | ptp
 *   datastore: sqlite        # sqlite | etcd
 *   clusterCidr: 10.244.0.0/16
 *   podsPerNode: 2
 *   segments:
 *     - { name: lan1, cidr: 192.0.2.0/24 }
 *     - { name: lan2, cidr: 198.51.100.0/25 }
 *   nodes:
 *     - { name: node1, segment: lan1 }
 *     - { name: node2, segment: lan2 }
 */
import type { Backend } from "../cluster/node-record.ts";
import { BACKENDS, NODE_NAME } from "../cluster/node-record.ts";
import { addToIP, formatIP } from "../ipnet/address.ts";
import { containsPrefix, firstIP, lastIP, nthIP, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";
import type { HostSpec, Segment, Topology } from "./topology.ts";
import { MAX_LAB_NODES } from "./topology.ts";

export interface ClusterFile {
  readonly topology: Topology;
  readonly backend?: Backend;
  readonly mode?: "bridge" | "ptp";
  readonly datastore?: "sqlite" | "etcd";
  readonly clusterCidr?: string;
  readonly podsPerNode?: number;
}

export class ClusterFileError extends Error {
  override readonly name = "ClusterFileError";
  constructor(field: string, reason: string) {
    super(`Invalid cluster file: ${field} ${reason}`);
  }
}

const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map((c) => parsePrefix(c));
const EXTERNAL = "203.0.113.0/24";
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

function segmentOf(v: unknown, i: number): Segment {
  const s = record(v, `segments[${i}]`);
  if (typeof s.name !== "string" || !SEGMENT_NAME.test(s.name))
    throw new ClusterFileError(`segments[${i}].name`, "must be a short lowercase name (e.g. lan1)");
  if (typeof s.cidr !== "string") throw new ClusterFileError(`segments[${i}].cidr`, "is required");
  const cidr = parsePrefix(s.cidr);
  if (!DOCUMENTATION_RANGES.some((d) => containsPrefix(d, cidr))) {
    throw new ClusterFileError(
      `segments[${i}].cidr "${s.cidr}"`,
      "must lie in a documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)",
    );
  }
  if (cidr.length > 26)
    throw new ClusterFileError(
      `segments[${i}].cidr "${s.cidr}"`,
      "is too small for a router and nodes (use /26 or larger)",
    );
  return { name: s.name, cidr: s.cidr, gateway: formatIP(nthIP(cidr, 1n)) };
}

export function parseClusterFile(text: string): ClusterFile {
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(text);
  } catch (e) {
    throw new ClusterFileError("", `is not YAML: ${(e as Error).message}`);
  }
  const doc = record(raw, "the document");
  if (!Array.isArray(doc.segments) || doc.segments.length === 0)
    throw new ClusterFileError("segments", "must list at least one segment");
  if (!Array.isArray(doc.nodes) || doc.nodes.length === 0)
    throw new ClusterFileError("nodes", "must list at least one node");
  if (doc.nodes.length > MAX_LAB_NODES)
    throw new ClusterFileError("nodes", `may list at most ${MAX_LAB_NODES}`);
  const segments = doc.segments.map(segmentOf);
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const a = segments[i] as Segment;
      const b = segments[j] as Segment;
      if (a.name === b.name) throw new ClusterFileError("segments", `name "${a.name}" is used twice`);
      if (prefixesOverlap(parsePrefix(a.cidr), parsePrefix(b.cidr)))
        throw new ClusterFileError("segments", `"${a.name}" and "${b.name}" overlap`);
    }
  }
  let ext = segments.find((s) => s.name === "ext");
  if (!ext) {
    if (segments.some((s) => prefixesOverlap(parsePrefix(s.cidr), parsePrefix(EXTERNAL)))) {
      throw new ClusterFileError(
        "segments",
        `must leave ${EXTERNAL} to the external host, or name a segment "ext"`,
      );
    }
    ext = { name: "ext", cidr: EXTERNAL, gateway: "203.0.113.1" };
    segments.push(ext);
  }
  const counters = new Map<string, number>();
  const names = new Set<string>();
  const host = (seg: Segment, name: string, n: number): HostSpec => {
    const prefix = parsePrefix(seg.cidr);
    const ip = addToIP(firstIP(prefix), BigInt(n));
    if (ip.value >= lastIP(prefix).value)
      throw new ClusterFileError(`segment "${seg.name}"`, `has no room for ${name}`);
    return { name, segment: seg.name, address: `${formatIP(ip)}/${prefix.length}` };
  };
  const nodes = doc.nodes.map((v, i) => {
    const n = record(v, `nodes[${i}]`);
    if (typeof n.name !== "string" || !NODE_NAME.test(n.name) || n.name.length > 20) {
      throw new ClusterFileError(`nodes[${i}].name`, "must be a short DNS-label-like name (a-z, 0-9, -)");
    }
    if (names.has(n.name) || ["external", "datastore", "router"].includes(n.name))
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
    return host(seg, n.name, 10 + count);
  });
  const podsPerNode = doc.podsPerNode;
  if (
    podsPerNode !== undefined &&
    (!Number.isInteger(podsPerNode) || (podsPerNode as number) < 1 || (podsPerNode as number) > 26)
  ) {
    throw new ClusterFileError("podsPerNode", "must be an integer from 1 to 26");
  }
  const clusterCidr = doc.clusterCidr;
  if (clusterCidr !== undefined && typeof clusterCidr !== "string")
    throw new ClusterFileError("clusterCidr", "must be a CIDR");
  const backend = optionalOf(doc, "backend", BACKENDS);
  const mode = optionalOf(doc, "mode", ["bridge", "ptp"] as const);
  const datastore = optionalOf(doc, "datastore", ["sqlite", "etcd"] as const);
  const first = segments[0] as Segment;
  return {
    topology: {
      segments,
      nodes,
      external: host(ext, "external", 100),
      datastore: host(first, "datastore", 2),
    },
    ...(backend ? { backend } : {}),
    ...(mode ? { mode } : {}),
    ...(datastore ? { datastore } : {}),
    ...(clusterCidr ? { clusterCidr } : {}),
    ...(podsPerNode !== undefined ? { podsPerNode: podsPerNode as number } : {}),
  };
}
