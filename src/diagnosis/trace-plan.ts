/**
 * What a trace asks of the cluster (pure): from the resolved source and destination, the probe the
 * source sends (TraceSpec: what the tracing rules match, in both directions), which nodes must
 * answer, which addresses their conntrack reports, and which FIB lookups each makes.
 *
 * The rules must match every form the flow takes on its way (research §7 pitfall 8: a trace chain at
 * raw−1 runs before conntrack, so it matches addresses, not `ct`): the original pair, the pair after
 * DNAT to each candidate endpoint, and the pairs after masquerade (node IP, gateway or VTEP address
 * of the node that rewrites it).
 */

import type { RouteQuery, TraceProto, TraceSource, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import type { NodeRecord } from "../cluster/node-record.ts";
import { DEFAULT_BRIDGE } from "../cni/conflist.ts";
import { canonicalIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { ServicePort } from "../k8s/service-model.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import type { Candidate } from "./prediction-types.ts";
import { sourceInFamily } from "./source-in-family.ts";
import { nodeAddresses, type ResolvedTarget } from "./target.ts";
import { familyOf, nodeByNodeIP, nodeNamed, podByIP, podName } from "./trace-net.ts";

export class TracePlanError extends Error {
  override readonly name = "TracePlanError";
}

export interface TracePlan {
  readonly source: ResolvedTarget;
  readonly destination: ResolvedTarget;
  readonly spec: TraceSpec;
  readonly request: { nodes: string[]; addresses: string[]; routeLookups: RouteQuery[] };
  /** The Service port the destination names (ClusterIP or NodePort), when there is one. */
  readonly servicePort?: ServicePort;
  /** Every endpoint the Service lookup may DNAT to (empty without a Service). */
  readonly candidates: readonly Candidate[];
  /** The cluster's pod CIDRs (to tell pod and node traffic from outside traffic in observations). */
  readonly clusterCidrs: readonly string[];
  /** The addresses each node on the path answers on (node IPs, gateway, VTEP): its own traffic. */
  readonly nodeAddresses: Readonly<Record<string, readonly string[]>>;
}

function unhandledTarget(target: never): never {
  throw new TracePlanError(`unhandled target ${JSON.stringify(target)}`);
}

function targetText(target: ResolvedTarget): string {
  switch (target.kind) {
    case "pod":
      return podName(target.pod);
    case "node":
      return target.node.name;
    case "service":
      return `${target.service.namespace}/${target.service.name}`;
    case "node-port":
      return hostPort(target.ip, target.port);
    case "external":
      return target.ip;
    default:
      return unhandledTarget(target);
  }
}

function traceSource(target: ResolvedTarget): TraceSource {
  switch (target.kind) {
    case "pod":
      return { kind: "pod", node: target.pod.node, namespace: target.pod.namespace, name: target.pod.name };
    case "node":
      return { kind: "node", node: target.node.name };
    case "external":
      return { kind: "external", ip: target.ip };
    case "service":
    case "node-port":
      throw new TracePlanError(
        `Cannot trace from "${targetText(target)}": a Service sends nothing; name one of its pods or a node`,
      );
    default:
      return unhandledTarget(target);
  }
}

/** The Service port a ClusterIP or NodePort destination names for `proto`; undefined when it has none. */
function servicePortOf(destination: ResolvedTarget, proto: TraceProto): ServicePort | undefined {
  if (destination.kind === "node-port") return destination.servicePort;
  if (destination.kind !== "service" || destination.port === undefined) return undefined;
  const protocol = proto.toUpperCase();
  return destination.service.ports.find((p) => p.port === destination.port && p.protocol === protocol);
}

function destinationPort(destination: ResolvedTarget, proto: TraceProto): number | undefined {
  if (proto === "icmp") return undefined;
  if (destination.kind === "node-port") return destination.port;
  if (destination.kind === "service" && destination.port === undefined) {
    const protocol = proto.toUpperCase();
    const ports = destination.service.ports.filter((p) => p.protocol === protocol);
    const only = ports.length === 1 ? ports[0] : undefined;
    if (only) return only.port;
    const listed = destination.service.ports.map((p) => `${p.port}/${p.protocol.toLowerCase()}`).join(", ");
    throw new TracePlanError(
      `Cannot trace to "${targetText(destination)}": name its port (${listed || "it has none"}), e.g. ${targetText(destination)}:${destination.service.ports[0]?.port ?? 80}/${proto}`,
    );
  }
  if (destination.port === undefined)
    throw new TracePlanError(
      `Cannot trace ${proto} to "${targetText(destination)}": give a port (DEST:PORT) or trace icmp`,
    );
  return destination.port;
}

function candidatesOf(snapshot: ClusterSnapshot, destination: ResolvedTarget, port: ServicePort | undefined) {
  if (destination.kind !== "service" && destination.kind !== "node-port") return [];
  const view = snapshot.services.find(
    (v) =>
      v.service.namespace === destination.service.namespace && v.service.name === destination.service.name,
  );
  if (!view || !port) return [];
  const family = familyOf(destination.ip);
  return view.endpoints
    .filter((e) => familyOf(e.ip) === family)
    .map(
      (e): Candidate => ({ ip: canonicalIP(e.ip) ?? e.ip, port: port.targetPort, pod: e.pod, node: e.node }),
    );
}

function pushUnique<T>(list: T[], value: T | undefined): void {
  if (value !== undefined && !list.includes(value)) list.push(value);
}

function addressesOfNode(node: NodeRecord | undefined, family: 4 | 6): string[] {
  if (!node) return [];
  return nodeAddresses(node).filter((a) => familyOf(a) === family);
}

/** A node's VXLAN underlay address: IPv4 when it has one (agent/peer-routes.ts), else its first. */
function vxlanPeerOf(node: NodeRecord): string | undefined {
  const ips = node.nodeIPs.map((ip) => canonicalIP(ip) ?? ip);
  return ips.find((ip) => familyOf(ip) === 4) ?? ips[0];
}

/**
 * Plans the trace. `options.sourcePort` is the probe's local port (tcp/udp); it is part of every
 * match so that only this probe is traced.
 */
export function planTrace(
  snapshot: ClusterSnapshot,
  named: ResolvedTarget,
  destination: ResolvedTarget,
  proto: TraceProto,
  options: { sourcePort: number; probeTimeoutMs: number },
): TracePlan {
  const source = sourceInFamily(named, familyOf(destination.ip));
  const sender = traceSource(source);
  if (familyOf(source.ip) !== familyOf(destination.ip))
    throw new TracePlanError(
      `Cannot trace from ${source.ip} to ${destination.ip}: they are of different address families`,
    );
  if (
    proto !== "icmp" &&
    (!Number.isInteger(options.sourcePort) || options.sourcePort < 1 || options.sourcePort > 65535)
  )
    throw new TracePlanError(`Cannot trace with source port ${options.sourcePort}: not 1–65535`);
  const family = familyOf(destination.ip);
  const servicePort = servicePortOf(destination, proto);
  const port = destinationPort(destination, proto);
  const candidates = candidatesOf(snapshot, destination, servicePort);

  const sourceNode =
    source.kind === "pod"
      ? nodeNamed(snapshot, source.pod.node)
      : source.kind === "node"
        ? source.node
        : undefined;
  const sourceIPs =
    source.kind === "node" ? [source.ip, ...addressesOfNode(source.node, family)] : [source.ip];
  const srcs = [...new Set(sourceIPs.map((ip) => canonicalIP(ip) ?? ip))];
  const dst = canonicalIP(destination.ip) ?? destination.ip;

  // Nodes on the path: the sender's, the destination's (or every endpoint's), the NodePort's.
  const nodes: string[] = [];
  pushUnique(nodes, sourceNode?.name);
  switch (destination.kind) {
    case "pod":
      pushUnique(nodes, destination.pod.node);
      break;
    case "node":
      pushUnique(nodes, destination.node.name);
      break;
    case "node-port":
      pushUnique(nodes, (destination.node ?? nodeByNodeIP(snapshot, destination.ip))?.name);
      break;
    case "external":
      // An address of a pod block without a pod record: its block's node delivers or refuses it.
      pushUnique(nodes, destination.block?.node);
      break;
    case "service":
      break;
    default:
      unhandledTarget(destination);
  }
  for (const c of candidates) pushUnique(nodes, c.node);
  if (source.kind === "external" && destination.kind === "pod") pushUnique(nodes, destination.pod.node);

  // Address pairs the tracing rules match (the rules add each reverse).
  const pairs: (readonly [string, string])[] = [];
  const seen = new Set<string>();
  const pair = (a: string, b: string) => {
    const key = `${a}|${b}`;
    if (a === b || seen.has(key) || seen.has(`${b}|${a}`)) return;
    seen.add(key);
    pairs.push([a, b] as const);
  };
  for (const s of srcs) pair(s, dst);
  for (const c of candidates) for (const s of srcs) pair(s, c.ip);
  const dnatNode =
    destination.kind === "node-port"
      ? (destination.node ?? nodeByNodeIP(snapshot, destination.ip))
      : undefined;
  // NodePort traffic is masqueraded by the node that DNATs it, to the address of the device it leaves by.
  for (const c of candidates) for (const a of addressesOfNode(dnatNode, family)) pair(a, c.ip);
  // Hairpin: a pod reaching itself through its Service is masqueraded to its node's gateway.
  if (source.kind === "pod" && candidates.some((c) => c.ip === dst || c.ip === srcs[0]))
    for (const a of addressesOfNode(sourceNode, family)) pair(a, srcs[0] ?? source.ip);
  // Traffic to addresses outside the no-masquerade set (outside hosts, node IPs, NodePorts) leaves
  // with the source node's address (masquerade).
  const outside = destination.kind === "external" && destination.block === undefined;
  if (outside || destination.kind === "node" || destination.kind === "node-port")
    for (const a of addressesOfNode(sourceNode, family)) pair(a, dst);

  const ports: number[] = [];
  if (proto !== "icmp") {
    pushUnique(ports, options.sourcePort);
    pushUnique(ports, port);
    for (const c of candidates) pushUnique(ports, c.port);
  }

  const vxlanPeers: string[] = [];
  for (const name of nodes) {
    const node = nodeNamed(snapshot, name);
    // host-gw and bgp nodes have no VXLAN device: no VXLAN packets to count.
    if (!node || node.backend === "host-gw" || node.backend === "bgp") continue;
    pushUnique(vxlanPeers, vxlanPeerOf(node));
  }

  // FIB lookups every answering node makes: towards the destination and each endpoint, and back.
  const routeLookups: RouteQuery[] = [];
  const lookupKeys = new Set<string>();
  const lookup = (q: RouteQuery) => {
    const key = `${q.dst}|${q.from ?? ""}|${q.iif ?? ""}`;
    if (lookupKeys.has(key) || q.dst === q.from) return;
    lookupKeys.add(key);
    routeLookups.push(q);
  };
  const towards = [
    ...(destination.kind === "service" ? [] : [dst]), // a ClusterIP routes only after DNAT
    ...candidates.map((c) => c.ip),
  ];
  const from = srcs[0] ?? source.ip;
  for (const to of towards) {
    if (source.kind === "pod") lookup({ dst: to, from, iif: DEFAULT_BRIDGE });
    else lookup({ dst: to });
  }
  const repliers = [
    ...(destination.kind === "pod" || (destination.kind === "external" && destination.block) ? [dst] : []),
    ...candidates.filter((c) => podByIP(snapshot, c.ip)).map((c) => c.ip),
  ];
  for (const back of repliers)
    if (source.kind === "pod") lookup({ dst: from, from: back, iif: DEFAULT_BRIDGE });
    else lookup({ dst: from });

  const addresses: string[] = [];
  for (const [a, b] of pairs) {
    pushUnique(addresses, a);
    pushUnique(addresses, b);
  }

  const spec: TraceSpec = {
    proto,
    source: sender,
    destination: port === undefined ? { ip: dst } : { ip: dst, port },
    ...(proto === "icmp" ? {} : { sourcePort: options.sourcePort }),
    match: { pairs, ports },
    vxlanPeers,
    probeTimeoutMs: options.probeTimeoutMs,
  };
  return {
    source,
    destination,
    spec,
    request: { nodes, addresses, routeLookups },
    ...(servicePort ? { servicePort } : {}),
    candidates,
    clusterCidrs: snapshot.config.clusterCidrs,
    nodeAddresses: Object.fromEntries(
      nodes.map((name) => [name, addressesOfNode(nodeNamed(snapshot, name), family)] as const),
    ),
  };
}
