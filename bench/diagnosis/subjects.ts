/**
 * What the diagnosis benchmark asks about, taken from the lab it brought up (pure): the addresses
 * `podnet explain` is timed on, the destinations `podnet trace` is timed to, and where each
 * command runs. Everything comes from the lab's state and the demo Service's ClusterIP; nothing
 * is guessed from the lab's default numbering.
 */
import type { AddressKind } from "../../src/diagnosis/explanation.ts";
import { addToIP, formatIP, ipEquals, parseIP } from "../../src/ipnet/address.ts";
import { lastIP, parsePrefix } from "../../src/ipnet/prefix.ts";
import { labNamesOf } from "../../src/lab/lab-diagnosis.ts";
import { DEMO_SERVICE } from "../../src/lab/lab-services.ts";
import type { LabState } from "../../src/lab/lab-state.ts";
import { ECHO_PORT } from "../../src/lab/lab-state.ts";

export class LabSubjectError extends Error {
  override readonly name = "LabSubjectError";
}

export type ExplainKey = "pod" | "cluster-ip" | "node-ip" | "free";
export const EXPLAIN_KEYS: readonly ExplainKey[] = ["pod", "cluster-ip", "node-ip", "free"];

export interface ExplainSubject {
  readonly key: ExplainKey;
  /** For the table: "pod node2-a (10.244.10.2)". */
  readonly label: string;
  readonly address: string;
  /** The kind the answer must name, or the run counts it as failed. */
  readonly kind: AddressKind;
}

export type TraceKey = "direct" | "vxlan" | "cluster-ip";
export const TRACE_KEYS: readonly TraceKey[] = ["direct", "vxlan", "cluster-ip"];

export interface TraceSubject {
  readonly key: TraceKey;
  readonly label: string;
  readonly address: string;
  readonly port: number;
}

/** The port of the demo Service (src/lab/lab-services.ts DEMO_SERVICE) on its ClusterIP. */
export const SERVICE_PORT = 80;

/** Names in the default 3-node lab: node1 asks, node2 shares its segment, node3 is behind the router. */
export const SOURCE_POD = "node1-a";
const DIRECT_POD = "node2-a";
const VXLAN_POD = "node3-a";
const ASKING_NODE = "node1";
const OTHER_NODE = "node2";

export interface DiagnosisSubjects {
  readonly datastore: string;
  /** Where explain, trace and the datastore reads run: the first node, as an operator on it. */
  readonly askingNetns: string;
  /** The namespace of every node, for the anchor's kernel reads. */
  readonly nodes: readonly { readonly name: string; readonly netns: string }[];
  /** The trace source as trace takes it, and its namespace (where the bare probe runs). */
  readonly source: { readonly ref: string; readonly ip: string; readonly netns: string };
  readonly explain: readonly ExplainSubject[];
  readonly trace: readonly TraceSubject[];
}

/**
 * The last address of `block` below its broadcast address that no pod and no node of the lab
 * holds: inside a leased block, free.
 */
export function freeAddressIn(block: string, taken: readonly string[]): string {
  const prefix = parsePrefix(block);
  const held = taken.map((t) => parseIP(t));
  // The broadcast address (the bridge's subnet is the block), the VTEP (.0) and the gateway (.1)
  // are never free: start below the broadcast, stop above the gateway.
  const lowest = prefix.network.value + 2n;
  for (let ip = addToIP(lastIP(prefix), -1n); ip.value >= lowest; ip = addToIP(ip, -1n)) {
    if (!held.some((h) => ipEquals(h, ip))) return formatIP(ip);
  }
  throw new LabSubjectError(`Cannot find a free address in block ${block}: every address is held`);
}

export function diagnosisSubjects(state: LabState, clusterIP: string): DiagnosisSubjects {
  const names = labNamesOf(state);
  const node = (name: string) => {
    const n = state.nodes.find((x) => x.name === name);
    if (!n)
      throw new LabSubjectError(
        `The lab has no node "${name}" (nodes: ${state.nodes.map((x) => x.name).join(", ")}): the benchmark needs the default 3-node lab`,
      );
    return n;
  };
  const pod = (name: string) => {
    const p = state.pods.find((x) => x.name === name);
    const ip = names.pods.find((x) => x.name === name)?.ip;
    if (!p || ip === undefined)
      throw new LabSubjectError(
        `The lab has no pod "${name}" with an address: the benchmark needs the default lab`,
      );
    return { ...p, ip };
  };
  const nodeIP = (name: string) => formatIP(parseIP(node(name).address.replace(/\/\d+$/, "")));
  const service = formatIP(parseIP(clusterIP));
  const source = pod(SOURCE_POD);
  const direct = pod(DIRECT_POD);
  const vxlan = pod(VXLAN_POD);
  const otherBlock = node(OTHER_NODE).podCidrs[0];
  if (otherBlock === undefined)
    throw new LabSubjectError(`Node ${OTHER_NODE} has no pod block in the lab state`);
  const taken = [
    ...names.pods.flatMap((p) => (p.ip === undefined ? [] : [p.ip])),
    ...names.nodes.map((n) => n.ip),
  ];
  const free = freeAddressIn(otherBlock, taken);
  return {
    datastore: state.datastore,
    askingNetns: node(ASKING_NODE).netns,
    nodes: state.nodes.map((n) => ({ name: n.name, netns: n.netns })),
    source: { ref: `default/${source.name}`, ip: source.ip, netns: source.netns },
    explain: [
      {
        key: "pod",
        label: `pod ${direct.name} on ${direct.node} (${direct.ip})`,
        address: direct.ip,
        kind: "pod",
      },
      {
        key: "cluster-ip",
        label: `ClusterIP of ${DEMO_SERVICE} (${service})`,
        address: service,
        kind: "cluster-ip",
      },
      {
        key: "node-ip",
        label: `node IP of ${OTHER_NODE} (${nodeIP(OTHER_NODE)})`,
        address: nodeIP(OTHER_NODE),
        kind: "node-ip",
      },
      { key: "free", label: `free address in ${OTHER_NODE}'s block (${free})`, address: free, kind: "free" },
    ],
    trace: [
      {
        key: "direct",
        label: `pod → pod direct: ${direct.name} (${direct.ip}:${ECHO_PORT})`,
        address: direct.ip,
        port: ECHO_PORT,
      },
      {
        key: "vxlan",
        label: `pod → pod VXLAN: ${vxlan.name} (${vxlan.ip}:${ECHO_PORT})`,
        address: vxlan.ip,
        port: ECHO_PORT,
      },
      {
        key: "cluster-ip",
        label: `pod → ClusterIP ${DEMO_SERVICE} (${service}:${SERVICE_PORT})`,
        address: service,
        port: SERVICE_PORT,
      },
    ],
  };
}
