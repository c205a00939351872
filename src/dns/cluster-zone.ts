/**
 * The cluster zone (pure, incremental): the records of every Service by owner name, updated one
 * Service at a time, so a change among 10,000 Services touches only that Service's names. It also
 * knows which names are its own to answer: the cluster domain and the reverse zones of the
 * cluster's pod and service CIDRs, so that no such query is ever forwarded.
 *
 * A name exists when it owns records or when a name below it does (an empty non-terminal such as
 * svc.ZONE or _tcp.NAME.NS.svc.ZONE): those answer NODATA, never NXDOMAIN (RFC 8020).
 */
import type { SoaData } from "dns-packet";
import { containsIP, type IPPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { Endpoint, Service } from "../k8s/service-model.ts";
import { serviceKey } from "../k8s/service-model.ts";
import { checkName, isAtOrBelow, lookupKey, parentOf, reverseAncestor, reversePrefix } from "./dns-name.ts";
import { type RecordsByName, recordKey, serviceRecords, type ZoneRecord } from "./zone-records.ts";

/** The schema version of the Kubernetes DNS specification these records follow. */
export const DNS_SCHEMA_VERSION = "1.1.0";
/** CoreDNS' kubernetes plugin default; pods re-resolve soon after a Service changes. */
export const DEFAULT_TTL = 5;
const SOA_REFRESH = 7200;
const SOA_RETRY = 1800;
const SOA_EXPIRE = 86400;

export interface ClusterZoneOptions {
  /** The cluster domain, "cluster.local" by default. */
  readonly domain?: string;
  /** TTL of every record, and the negative TTL (SOA minimum), in seconds. */
  readonly ttl?: number;
  /** Pod and service CIDRs: their reverse zones are answered here, never forwarded. */
  readonly reverseCidrs?: readonly string[];
}

/** What the zone says about a name it is authoritative for. */
export type ZoneLookup =
  | { readonly kind: "nxdomain" }
  | { readonly kind: "exists"; readonly records: readonly ZoneRecord[] };

const STATIC_SOURCE = "";

export class ClusterZone {
  readonly domain: string;
  readonly ttl: number;
  private readonly reverseCidrs: readonly IPPrefix[];
  /** owner name → source (a Service key, or "" for the zone's own records) → records */
  private readonly names = new Map<string, Map<string, readonly ZoneRecord[]>>();
  /** owner name → number of (name, source) entries strictly below it */
  private readonly below = new Map<string, number>();
  /** Service key → the names it contributed to */
  private readonly bySource = new Map<string, readonly string[]>();
  private version = 1;

  constructor(options: ClusterZoneOptions = {}) {
    this.domain = lookupKey(checkName(options.domain ?? "cluster.local"));
    if (this.domain === "") throw new RangeError("The cluster domain cannot be the root");
    const ttl = options.ttl ?? DEFAULT_TTL;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600)
      throw new RangeError(`DNS TTL ${ttl} is out of range (0-3600 seconds)`);
    this.ttl = ttl;
    this.reverseCidrs = (options.reverseCidrs ?? []).map((c) => parsePrefix(c));
    // The apex's SOA is made per answer (its serial follows the updates), see soa().
    const own: RecordsByName = new Map([
      [`dns-version.${this.domain}`, [{ type: "TXT", data: DNS_SCHEMA_VERSION }]],
    ]);
    this.apply(STATIC_SOURCE, own);
  }

  /** Puts a Service with its ready endpoints, replacing what it had before. */
  setService(service: Service, readyEndpoints: readonly Endpoint[]): void {
    const key = serviceKey(service);
    this.remove(key);
    this.apply(key, serviceRecords(service, readyEndpoints, this.domain));
    this.bump();
  }

  /** Removes a Service by its key, namespace/name. */
  deleteService(key: string): void {
    if (this.remove(key)) this.bump();
  }

  /** Replaces everything (after a list). */
  reset(entries: Iterable<{ service: Service; endpoints: readonly Endpoint[] }>): void {
    for (const key of [...this.bySource.keys()]) if (key !== STATIC_SOURCE) this.remove(key);
    for (const { service, endpoints } of entries)
      this.apply(serviceKey(service), serviceRecords(service, endpoints, this.domain));
    this.bump();
  }

  get serviceCount(): number {
    return this.bySource.size - 1;
  }

  /** The SOA serial: it changes with every update (RFC 1982 arithmetic wraps it). */
  get serial(): number {
    return this.version;
  }

  /**
   * The apex of the zone a name (a lookup key) belongs to when this zone answers it: the cluster
   * domain, or the whole-label reverse name of a pod/service CIDR. Undefined: forward it.
   */
  apexOf(name: string): string | undefined {
    if (isAtOrBelow(name, this.domain)) return this.domain;
    if (this.reverseCidrs.length === 0) return undefined;
    // The longest ancestor that is a reverse name inside a CIDR: names below it that are not
    // addresses (extra labels, leading zeros, letters) are this zone's too, answered NXDOMAIN.
    for (let at: string | undefined = name; at !== undefined && at !== ""; at = parentOf(at)) {
      const covered = reversePrefix(at);
      if (covered === undefined) continue;
      for (const cidr of this.reverseCidrs) {
        if (cidr.family !== covered.family || covered.length < cidr.length) continue;
        if (containsIP(cidr, covered.network)) return reverseAncestor(covered.network, cidr.length);
      }
    }
    return undefined;
  }

  /**
   * Records at a name (a lookup key) of this zone, or NXDOMAIN when neither it nor a name below
   * exists. An apex (see apexOf) always exists and owns the SOA.
   */
  lookup(name: string): ZoneLookup {
    const records: ZoneRecord[] = this.apexOf(name) === name ? [{ type: "SOA", data: this.soaData() }] : [];
    const sources = this.names.get(name);
    if (sources === undefined) {
      const exists = records.length > 0 || (this.below.get(name) ?? 0) > 0;
      return exists ? { kind: "exists", records } : { kind: "nxdomain" };
    }
    if (sources.size === 1 && records.length === 0) {
      // The common case, one Service's records, already without duplicates.
      for (const list of sources.values()) return { kind: "exists", records: list };
    }
    const seen = new Set<string>();
    for (const list of sources.values())
      for (const r of list) {
        const key = recordKey(r);
        if (seen.has(key)) continue;
        seen.add(key);
        records.push(r);
      }
    return { kind: "exists", records };
  }

  /** The SOA record for an apex (the cluster domain's or a reverse zone's) and negative answers. */
  soa(apex: string): { name: string; ttl: number; data: SoaData } {
    return { name: apex, ttl: this.ttl, data: this.soaData() };
  }

  /** RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
  get negativeTtl(): number {
    return this.ttl;
  }

  private soaData(): SoaData {
    return {
      mname: `ns.dns.${this.domain}`,
      rname: `hostmaster.${this.domain}`,
      serial: this.version,
      refresh: SOA_REFRESH,
      retry: SOA_RETRY,
      expire: SOA_EXPIRE,
      minimum: this.ttl,
    };
  }

  private bump(): void {
    this.version = this.version >= 0xffffffff ? 1 : this.version + 1;
  }

  private apply(source: string, records: RecordsByName): void {
    const owned: string[] = [];
    for (const [name, list] of records) {
      if (list.length === 0) continue;
      let sources = this.names.get(name);
      if (sources === undefined) {
        sources = new Map();
        this.names.set(name, sources);
      }
      sources.set(source, list);
      owned.push(name);
      for (let p = parentOf(name); p !== undefined; p = parentOf(p))
        this.below.set(p, (this.below.get(p) ?? 0) + 1);
    }
    this.bySource.set(source, owned);
  }

  private remove(source: string): boolean {
    const owned = this.bySource.get(source);
    if (owned === undefined) return false;
    for (const name of owned) {
      const sources = this.names.get(name);
      sources?.delete(source);
      if (sources?.size === 0) this.names.delete(name);
      for (let p = parentOf(name); p !== undefined; p = parentOf(p)) {
        const n = (this.below.get(p) ?? 0) - 1;
        if (n > 0) this.below.set(p, n);
        else this.below.delete(p);
      }
    }
    this.bySource.delete(source);
    return true;
  }
}
