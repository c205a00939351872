/**
 * What a Service holds in the datastore besides its record — ClusterIP and NodePort keys — and
 * the compare that proves a key is still held by it (the holder value both kinds share).
 */

import { unhandled } from "../base/unhandled.ts";
import { parseIP } from "../ipnet/address.ts";
import type { Protocol, Service } from "../k8s/service-model.ts";
import type { Compare, Store } from "../store/store.ts";
import { listServiceIPs, serviceIPKey } from "./service-ips.ts";
import { holderValue, listNodePorts, nodePortKey } from "./service-node-ports.ts";

/** Something a Service holds in the datastore besides its record. */
export type HeldResource =
  | { readonly kind: "clusterIP"; readonly ip: string }
  | { readonly kind: "nodePort"; readonly protocol: Protocol; readonly port: number };

export function heldResourceKey(r: HeldResource): string {
  switch (r.kind) {
    case "clusterIP":
      return serviceIPKey(parseIP(r.ip));
    case "nodePort":
      return nodePortKey(r.protocol, r.port);
    default: {
      unhandled(r, (shown) => new Error(`unknown resource ${shown}`));
    }
  }
}

export function describeHeldResource(r: HeldResource): string {
  return r.kind === "clusterIP" ? `ClusterIP ${r.ip}` : `NodePort ${r.port}/${r.protocol}`;
}

export function resourcesOf(s: Service): HeldResource[] {
  return [
    ...s.clusterIPs.map((ip): HeldResource => ({ kind: "clusterIP", ip })),
    ...s.ports.flatMap((p): HeldResource[] =>
      p.nodePort === undefined ? [] : [{ kind: "nodePort", protocol: p.protocol, port: p.nodePort }],
    ),
  ];
}

/** Holds when `id` still holds the resource's key. */
export const heldBy = (r: HeldResource, id: string): Compare => ({
  key: heldResourceKey(r),
  target: "value",
  op: "=",
  value: holderValue(id),
});

/** What the datastore says `id` holds, found by owner (for a Service whose record is unreadable). */
export async function resourcesHeldBy(store: Store, id: string): Promise<HeldResource[]> {
  const [ips, ports] = await Promise.all([listServiceIPs(store), listNodePorts(store)]);
  return [
    ...ips.filter((h) => h.service === id).map((h): HeldResource => ({ kind: "clusterIP", ip: h.ip })),
    ...ports
      .filter((h) => h.service === id)
      .map((h): HeldResource => ({ kind: "nodePort", protocol: h.protocol, port: h.port })),
  ];
}
