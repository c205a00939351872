/**
 * NodePorts held in the datastore: one key per protocol and port (`/podnet/node-ports/TCP/30080`)
 * owned by a Service and claimed by compare-and-swap, so no two Services get the same NodePort
 * of a protocol anywhere in the cluster (every node listens on every NodePort). The same port
 * number may be used once per protocol, as Kubernetes allows for TCP and UDP.
 */

import type { Protocol } from "../k8s/service-model.ts";
import { NODE_PORT_MAX, NODE_PORT_MIN, PROTOCOLS } from "../k8s/service-model.ts";
import type { Store } from "../store/store.ts";
import { ROOT } from "./keys.ts";
import { NodePortUnavailableError } from "./service-errors.ts";

export const NODE_PORTS_PREFIX = `${ROOT}/node-ports/`;

export function nodePortKey(protocol: Protocol, port: number): string {
  return `${NODE_PORTS_PREFIX}${protocol}/${port}`;
}

/**
 * The value of every key a Service holds (NodePorts here, ClusterIPs in service-ips.ts writes
 * the same), so a release can compare-and-delete only what the Service still owns.
 */
export function holderValue(service: string): string {
  return JSON.stringify({ service });
}

function holderOf(value: string): string | undefined {
  try {
    const v = JSON.parse(value) as { service?: unknown };
    return typeof v.service === "string" ? v.service : undefined;
  } catch {
    return undefined;
  }
}

export interface NodePortHolder {
  readonly protocol: Protocol;
  readonly port: number;
  /** "namespace/name", or undefined when the key's value is unreadable (the port still counts as taken). */
  readonly service: string | undefined;
}

export async function listNodePorts(store: Store, protocol?: Protocol): Promise<NodePortHolder[]> {
  const { kvs } = await store.list(protocol ? `${NODE_PORTS_PREFIX}${protocol}/` : NODE_PORTS_PREFIX);
  const holders: NodePortHolder[] = [];
  for (const kv of kvs) {
    const [proto, port] = kv.key.slice(NODE_PORTS_PREFIX.length).split("/");
    if (!PROTOCOLS.includes(proto as Protocol) || !/^[0-9]+$/.test(port ?? "")) continue;
    holders.push({ protocol: proto as Protocol, port: Number(port), service: holderOf(kv.value) });
  }
  return holders;
}

/** Deletes `key` only if `service` still holds it; returns whether it did. */
export async function releaseIfHeld(store: Store, key: string, service: string): Promise<boolean> {
  const r = await store.txn(
    [{ key, target: "value", op: "=", value: holderValue(service) }],
    [{ kind: "delete", key }],
  );
  return r.succeeded;
}

async function claim(store: Store, protocol: Protocol, port: number, service: string): Promise<boolean> {
  const key = nodePortKey(protocol, port);
  const r = await store.txn(
    [{ key, target: "version", op: "=", value: 0 }],
    [{ kind: "put", key, value: holderValue(service) }],
  );
  return r.succeeded;
}

/**
 * Claims NodePort `requested` of `protocol` for `service`, or a free one when none is requested.
 * Free ports are searched from a random start so concurrent creators rarely race for one port.
 */
export async function allocateNodePort(
  store: Store,
  protocol: Protocol,
  service: string,
  requested?: number,
  random: () => number = Math.random,
): Promise<number> {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < NODE_PORT_MIN || requested > NODE_PORT_MAX)
      throw new NodePortUnavailableError(requested, protocol, `is outside ${NODE_PORT_MIN}–${NODE_PORT_MAX}`);
    if (await claim(store, protocol, requested, service)) return requested;
    const kv = await store.get(nodePortKey(protocol, requested));
    const holder = kv ? holderOf(kv.value) : undefined;
    throw new NodePortUnavailableError(
      requested,
      protocol,
      holder ? `already allocated to Service "${holder}"` : "already allocated",
    );
  }
  const size = NODE_PORT_MAX - NODE_PORT_MIN + 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const taken = new Set((await listNodePorts(store, protocol)).map((h) => h.port));
    const start = Math.min(Math.floor(random() * size), size - 1);
    let port: number | undefined;
    for (let k = 0; k < size && port === undefined; k++) {
      const candidate = NODE_PORT_MIN + ((start + k) % size);
      if (!taken.has(candidate)) port = candidate;
    }
    if (port === undefined)
      throw new NodePortUnavailableError(
        undefined,
        protocol,
        `every port from ${NODE_PORT_MIN} to ${NODE_PORT_MAX} is taken`,
      );
    if (await claim(store, protocol, port, service)) return port;
  }
  throw new NodePortUnavailableError(undefined, protocol, "the NodePort range is too contended, try again");
}
