/**
 * `podnet lab explain` and `podnet lab trace`: the plain `podnet explain` / `podnet trace`, with
 * the lab's names. A pod name (node1-a), a node name (node2), `external` (the host outside the
 * cluster) and the lab's Services (`echo`, `no-endpoints`) are translated to plain arguments
 * first; anything else passes through unchanged. The command then runs inside the first node's
 * namespace — the datastore may be the lab's etcd, reachable only on the underlay — with the
 * lab's copy of the CLI, exactly as an operator on a node would run it.
 *
 * `external` as a trace SOURCE has no agent to send for it: the plain command is told to send
 * the probe itself from the external host's namespace (its hidden --external-probe-netns).
 */

import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { runInteractive } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { labFamilies } from "./lab-families.ts";
import { clusterIPOf, DEMO_SERVICE, EMPTY_SERVICE, showService } from "./lab-services.ts";
import type { LabState } from "./lab-state.ts";
import { labCli } from "./lab-state.ts";

export class LabDiagnosisError extends Error {
  override readonly name = "LabDiagnosisError";
}

/** The lab's names and the addresses they stand for (pure data, from the lab state). */
export interface LabNames {
  readonly pods: readonly { readonly name: string; readonly ip?: string }[];
  readonly nodes: readonly { readonly name: string; readonly ip: string }[];
  readonly external: { readonly ip: string; readonly netns: string };
  /** Short name ("echo") → "namespace/name" and, when known, its ClusterIP. */
  readonly services: readonly { readonly name: string; readonly ref: string; readonly clusterIP?: string }[];
}

export const LAB_SERVICES: readonly { readonly name: string; readonly ref: string }[] = [
  { name: "echo", ref: DEMO_SERVICE },
  { name: "no-endpoints", ref: EMPTY_SERVICE },
];

const bare = (address: string) => address.replace(/\/\d+$/, "");

/** The first address of a CNI result (`ips[0].address`, "10.244.1.2/24"), if it has one. */
function resultAddress(result: unknown): string | undefined {
  const ips = (result as { ips?: unknown } | null)?.ips;
  if (!Array.isArray(ips)) return undefined;
  const first = ips.find((i) => typeof (i as { address?: unknown })?.address === "string") as
    | { address: string }
    | undefined;
  const ip = first ? tryParseIP(bare(first.address)) : undefined;
  return ip === undefined ? undefined : formatIP(ip);
}

export function labNamesOf(state: LabState, clusterIPs: Readonly<Record<string, string>> = {}): LabNames {
  return {
    pods: state.pods.map((p) => {
      const ip = resultAddress(p.result);
      return ip === undefined ? { name: p.name } : { name: p.name, ip };
    }),
    nodes: state.nodes.map((n) => ({ name: n.name, ip: bare(n.address) })),
    external: { ip: bare(state.external.address), netns: state.external.netns },
    services: LAB_SERVICES.map((s) => {
      const clusterIP = clusterIPs[s.name];
      return clusterIP === undefined ? s : { ...s, clusterIP };
    }),
  };
}

interface Split {
  readonly host: string;
  readonly port?: string;
  /** "/tcp", "/udp", "/icmp" or "". */
  readonly proto: string;
}

/** NAME[:PORT][/proto]; only lab names (no dots, no colons but the port's) are split. */
function split(text: string): Split | undefined {
  const m = /^([a-z0-9][a-z0-9-]*)(?::([0-9]{1,5}))?(\/(?:tcp|udp|icmp))?$/i.exec(text);
  if (!m?.[1]) return undefined;
  return { host: m[1], ...(m[2] !== undefined ? { port: m[2] } : {}), proto: m[3] ?? "" };
}

/** The lab Service a text names ("echo", "echo:80"), if any: the caller fetches its ClusterIP. */
export function labServiceNamed(text: string): string | undefined {
  const s = split(text);
  return s && LAB_SERVICES.some((l) => l.name === s.host) ? s.host : undefined;
}

/** `lab explain NAME[:PORT]` → the ADDRESS[:PORT] of the plain command. */
export function translateExplainTarget(names: LabNames, text: string): string {
  const s = split(text);
  if (s?.proto !== "") return text;
  const pod = names.pods.find((p) => p.name === s.host);
  if (pod) {
    if (pod.ip === undefined) throw new LabDiagnosisError(`Pod ${pod.name} has no address in the lab state`);
    return hostPort(pod.ip, s.port);
  }
  const node = names.nodes.find((n) => n.name === s.host);
  if (node) return hostPort(node.ip, s.port);
  if (s.host === "external") return hostPort(names.external.ip, s.port);
  const service = names.services.find((v) => v.name === s.host);
  if (service) {
    if (service.clusterIP === undefined)
      throw new LabDiagnosisError(`Service ${service.ref} has no known ClusterIP`);
    return hostPort(service.clusterIP, s.port);
  }
  return text;
}

/** A trace endpoint's lab name → what the plain command accepts. */
function translateTraceEnd(names: LabNames, text: string): string {
  const s = split(text);
  if (!s) return text;
  const pod = names.pods.find((p) => p.name === s.host);
  let host: string | undefined;
  if (pod) {
    // With a port, the pod by its address: "default/NAME:PORT" would prefer a Service of that name.
    if (s.port !== undefined && pod.ip !== undefined) host = hostPort(pod.ip, s.port);
    else host = s.port === undefined ? `default/${pod.name}` : `default/${pod.name}:${s.port}`;
  } else {
    const node = names.nodes.find((n) => n.name === s.host);
    const service = names.services.find((v) => v.name === s.host);
    // A node with a port is a NodePort on its IP; without one the node by name.
    if (node) host = s.port === undefined ? node.name : hostPort(node.ip, s.port);
    else if (s.host === "external") host = hostPort(names.external.ip, s.port);
    else if (service) host = s.port === undefined ? service.ref : `${service.ref}:${s.port}`;
  }
  return host === undefined ? text : `${host}${s.proto}`;
}

export interface LabTraceArgv {
  readonly source: string;
  readonly destination: string;
  /** Extra flags of the plain command (the external host's namespace for an external source). */
  readonly flags: string[];
}

/** `lab trace SRC DST` → the plain command's SOURCE, DESTINATION and extra flags. */
export function translateTraceArgs(names: LabNames, source: string, destination: string): LabTraceArgv {
  const external = source === "external" || source === names.external.ip;
  return {
    source: external ? names.external.ip : translateTraceEnd(names, source),
    destination: translateTraceEnd(names, destination),
    flags: external ? ["--external-probe-netns", names.external.netns] : [],
  };
}

function firstNode(state: LabState): string {
  const node = state.nodes[0];
  if (!node) throw new LabDiagnosisError("the lab has no node to run podnet in");
  return node.netns;
}

/** Options passed through to the plain command unchanged. */
export interface LabDiagnosisOptions {
  readonly json: boolean;
  readonly noProbe?: boolean;
  readonly timeoutMs?: string;
}

function passThrough(options: LabDiagnosisOptions): string[] {
  return [
    ...(options.json ? ["--json"] : []),
    ...(options.noProbe ? ["--no-probe"] : []),
    ...(options.timeoutMs !== undefined ? ["--timeout-ms", options.timeoutMs] : []),
  ];
}

/** The argv `lab explain` runs inside the first node (exported for the tests and the curious). */
export function labExplainArgv(
  state: LabState,
  names: LabNames,
  target: string,
  options: LabDiagnosisOptions,
): string[] {
  return inNetns(firstNode(state), [
    labCli(state),
    "explain",
    translateExplainTarget(names, target),
    "--datastore",
    state.datastore,
    ...passThrough(options),
  ]);
}

export function labTraceArgv(
  state: LabState,
  names: LabNames,
  source: string,
  destination: string,
  options: LabDiagnosisOptions,
): string[] {
  const t = translateTraceArgs(names, source, destination);
  return inNetns(firstNode(state), [
    labCli(state),
    "trace",
    t.source,
    t.destination,
    "--datastore",
    state.datastore,
    ...t.flags,
    ...passThrough(options),
  ]);
}

export async function labExplain(
  state: LabState,
  target: string,
  options: LabDiagnosisOptions,
): Promise<number> {
  const service = labServiceNamed(target);
  const clusterIPs: Record<string, string> = {};
  if (service !== undefined) {
    // Only a Service name needs the datastore: its ClusterIP is allocated, not in the lab state.
    const ref = LAB_SERVICES.find((s) => s.name === service)?.ref ?? service;
    clusterIPs[service] = clusterIPOf(await showService(state, ref), labFamilies(state)[0] ?? 4);
  }
  return await runInteractive(labExplainArgv(state, labNamesOf(state, clusterIPs), target, options));
}

export async function labTrace(
  state: LabState,
  source: string,
  destination: string,
  options: LabDiagnosisOptions,
): Promise<number> {
  return await runInteractive(labTraceArgv(state, labNamesOf(state), source, destination, options));
}
