/**
 * The DNS benchmark's synthetic cluster (pure): the proxy benchmark's Services (one named TCP port
 * "http", a ClusterIP from 10.96.0.0/12) with E endpoints each, and every record podnet's cluster
 * zone makes of them, listed by owner name. Both servers are fed from these records, so they serve
 * the same names, and the query file is drawn from them, so every answer is known in advance.
 */

import { type RecordsByName, serviceRecords, type ZoneRecord } from "../../src/dns/zone-records.ts";
import type { Endpoint, Service } from "../../src/k8s/service-model.ts";
import {
  benchEndpoint,
  benchService,
  endpointSerial,
  POD_CIDR,
  SERVICE_CIDR,
} from "../proxy/service-input.ts";

export const DOMAIN = "cluster.local";
/** The reverse zones both servers answer for (PTR of ClusterIPs and of endpoints). */
export const REVERSE_CIDRS: readonly string[] = [SERVICE_CIDR, POD_CIDR];
/** podnet's default TTL (src/dns/cluster-zone.ts); dnsmasq gets the same through local-ttl. */
export const TTL = 5;

export interface ZoneEntry {
  readonly service: Service;
  readonly endpoints: readonly Endpoint[];
}

/** Services 0..services-1 with `endpointsPerService` ready endpoints each. */
export function benchZoneEntries(services: number, endpointsPerService: number): ZoneEntry[] {
  if (!Number.isInteger(services) || services < 1)
    throw new RangeError(`The DNS benchmark needs at least one Service (got ${services})`);
  if (!Number.isInteger(endpointsPerService) || endpointsPerService < 1)
    throw new RangeError(
      `The DNS benchmark needs at least one endpoint per Service (got ${endpointsPerService})`,
    );
  const out: ZoneEntry[] = [];
  for (let s = 0; s < services; s++) {
    const endpoints: Endpoint[] = [];
    for (let e = 0; e < endpointsPerService; e++)
      endpoints.push(benchEndpoint(s, endpointSerial(s, e, endpointsPerService)));
    out.push({ service: benchService(s), endpoints });
  }
  return out;
}

/** One owner name with its records, as podnet's zone holds them for one Service. */
export interface OwnedRecords {
  readonly name: string;
  readonly records: readonly ZoneRecord[];
}

/** Every (owner, records) of every entry, in Service order: what both servers must answer. */
export function* zoneRecords(entries: readonly ZoneEntry[]): Generator<OwnedRecords> {
  for (const { service, endpoints } of entries) {
    const byName: RecordsByName = serviceRecords(service, endpoints, DOMAIN);
    for (const [name, records] of byName) yield { name, records };
  }
}
