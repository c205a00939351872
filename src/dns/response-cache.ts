/**
 * The forwarder's cache (pure; the clock is passed in): replies keyed by (lowercased name, type,
 * class, DO bit), kept for the smallest TTL of their answers, negative replies for
 * min(SOA TTL, SOA MINIMUM) of the SOA in their authority section (RFC 2308 §5; without an SOA
 * they are not cached), served with TTLs counted down, and bounded both in entries and in bytes (a
 * reply's wire size, measured at put; one over the per-entry limit is not kept): the least recently
 * used entries go first. The byte bound keeps a pod that asks for large answers of many names under
 * a domain it controls from filling the agent's memory.
 */
import type { Answer, Question, SoaAnswer } from "dns-packet";
import * as dnsPacket from "dns-packet";
import { RCODE } from "./dns-message.ts";
import { lookupKey } from "./dns-name.ts";

export interface CachedReply {
  readonly rcode: number;
  readonly answers: Answer[];
  readonly authorities: Answer[];
}

interface Entry extends CachedReply {
  readonly storedAtMs: number;
  readonly ttl: number;
  /** The wire size of its answers and authorities. */
  readonly bytes: number;
}

export interface ResponseCacheOptions {
  readonly maxEntries?: number;
  /** Total wire bytes of the cached replies (8 MiB by default). */
  readonly maxBytes?: number;
  /** A reply larger than this (wire bytes) is not cached (4 KiB by default). */
  readonly maxEntryBytes?: number;
  /** Upper bound on any TTL kept (a day by default; RFC 8767 suggests no more than 7 days). */
  readonly maxTtl?: number;
  /** Upper bound on negative caching (RFC 2308 §5 suggests 1 to 3 hours; a cluster wants less). */
  readonly maxNegativeTtl?: number;
}

export function cacheKey(question: Question, dnssecOk: boolean): string {
  return `${lookupKey(question.name)}|${question.type}|${question.class ?? "IN"}|${dnssecOk ? 1 : 0}`;
}

const withTtl = (a: Answer, ttl: number): Answer => (a.type === "OPT" ? a : { ...a, ttl });
const ttlOf = (a: Answer): number => (a.type === "OPT" ? 0 : (a.ttl ?? 0));

/** The wire size of a reply's records (without compression), or undefined when it cannot be encoded. */
function wireBytes(answers: Answer[], authorities: Answer[]): number | undefined {
  try {
    return dnsPacket.encodingLength({ answers, authorities });
  } catch {
    return undefined;
  }
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private readonly maxTtl: number;
  private readonly maxNegativeTtl: number;
  private totalBytes = 0;

  constructor(options: ResponseCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.maxEntryBytes = Math.min(options.maxEntryBytes ?? 4096, this.maxBytes);
    this.maxTtl = options.maxTtl ?? 86_400;
    this.maxNegativeTtl = options.maxNegativeTtl ?? 300;
    if (this.maxEntries < 1) throw new RangeError(`DNS cache size ${this.maxEntries} must be at least 1`);
    if (!(this.maxBytes >= 512) || !(this.maxEntryBytes >= 1))
      throw new RangeError(
        `DNS cache bytes ${this.maxBytes} (entry ${this.maxEntryBytes}) must be at least 512 (entry 1)`,
      );
  }

  get size(): number {
    return this.entries.size;
  }

  /** The wire bytes of every cached reply together. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The reply with each TTL lowered by the time it has been cached, or undefined when expired/absent. */
  get(key: string, nowMs: number): CachedReply | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const elapsed = Math.floor((nowMs - entry.storedAtMs) / 1000);
    if (elapsed >= entry.ttl || elapsed < 0) {
      this.drop(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    const lower = (a: Answer) => withTtl(a, Math.max(0, ttlOf(a) - elapsed));
    return {
      rcode: entry.rcode,
      answers: entry.answers.map(lower),
      authorities: entry.authorities.map(lower),
    };
  }

  /** Keeps a reply from upstream when it may be cached; returns the TTL it was kept for (0: not kept). */
  put(key: string, reply: CachedReply, nowMs: number): number {
    const ttl = this.cacheTtl(reply);
    if (ttl <= 0) return 0;
    const answers = reply.answers
      .filter((a) => a.type !== "OPT")
      .map((a) => withTtl(a, Math.min(ttlOf(a), ttl)));
    const authorities = reply.authorities.map((a) => withTtl(a, Math.min(ttlOf(a), ttl)));
    const bytes = wireBytes(answers, authorities);
    if (bytes === undefined || bytes > this.maxEntryBytes) return 0;
    this.drop(key);
    while (
      this.entries.size > 0 &&
      (this.entries.size >= this.maxEntries || this.totalBytes + bytes > this.maxBytes)
    ) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.drop(oldest.value);
    }
    this.entries.set(key, { rcode: reply.rcode, answers, authorities, storedAtMs: nowMs, ttl, bytes });
    this.totalBytes += bytes;
    return ttl;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  private cacheTtl(reply: CachedReply): number {
    const answers = reply.answers.filter((a) => a.type !== "OPT");
    if (reply.rcode === RCODE.NOERROR && answers.length > 0)
      return Math.min(this.maxTtl, ...answers.map(ttlOf));
    if (reply.rcode !== RCODE.NOERROR && reply.rcode !== RCODE.NXDOMAIN) return 0;
    const soa = reply.authorities.find((a): a is SoaAnswer => a.type === "SOA");
    if (soa === undefined) return 0;
    return Math.min(this.maxNegativeTtl, soa.ttl ?? 0, soa.data.minimum ?? 0);
  }
}
