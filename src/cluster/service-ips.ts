/**
 * Service ClusterIPs held in the datastore: one key per address (`/podnet/service-ips/IP`) owned
 * by a Service, claimed by compare-and-swap so two Services never share an address. Which address
 * to try comes from the pure allocator (Kubernetes' static band for requested IPs, the dynamic band
 * preferred for automatic ones).
 */

import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { serviceCidrOf } from "../ipam/cluster-config.ts";
import { ServiceIPUnavailableError } from "../ipam/cluster-errors.ts";
import { allocateServiceIP } from "../ipam/service-ip-allocator.ts";
import type { Family, IPAddress } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import type { Store } from "../store/store.ts";
import { ROOT } from "./keys.ts";

export const SERVICE_IPS_PREFIX = `${ROOT}/service-ips/`;

export const serviceIPKey = (ip: IPAddress): string => `${SERVICE_IPS_PREFIX}${formatIP(ip)}`;

export interface ServiceIPHolder {
  readonly ip: string;
  /** "namespace/name" of the Service. */
  readonly service: string;
}

export async function listServiceIPs(store: Store): Promise<ServiceIPHolder[]> {
  const { kvs } = await store.list(SERVICE_IPS_PREFIX);
  return kvs.map((kv) => ({
    ip: kv.key.slice(SERVICE_IPS_PREFIX.length),
    service: (JSON.parse(kv.value) as { service: string }).service,
  }));
}

/** Allocates a ClusterIP of `family` for `service` (the requested one, or a free one). */
export async function allocateClusterIP(
  store: Store,
  config: ClusterConfig,
  family: Family,
  service: string,
  requested?: IPAddress,
): Promise<IPAddress> {
  const cidr = serviceCidrOf(config, family);
  if (!cidr)
    throw new ServiceIPUnavailableError(
      requested ? formatIP(requested) : `IPv${family}`,
      `the cluster has no IPv${family} service CIDR`,
    );
  for (let attempt = 0; attempt < 50; attempt++) {
    const taken = new Set((await listServiceIPs(store)).map((h) => h.ip));
    const ip = allocateServiceIP({
      cidr,
      ...(requested ? { requested } : {}),
      isAllocated: (x) => taken.has(formatIP(x)),
      random: Math.random,
    });
    const r = await store.txn(
      [{ key: serviceIPKey(ip), target: "version", op: "=", value: 0 }],
      [{ kind: "put", key: serviceIPKey(ip), value: JSON.stringify({ service }) }],
    );
    if (r.succeeded) return ip;
    if (requested) throw new ServiceIPUnavailableError(formatIP(requested), "is already allocated");
  }
  throw new Error(`Cannot allocate a ClusterIP for ${service}: the service range is too contended`);
}
