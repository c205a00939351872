/**
 * Addresses and prefixes as they go into nft text: validated, of the table's family, and in one
 * canonical spelling (RFC 5952 for IPv6, as nft prints them), so the same endpoint always gets
 * the same chain name and map key and a partial sync never sees a spurious change.
 */
import { type Family, formatIP, tryParseIP } from "../ipnet/address.ts";
import { containsPrefix, formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { NftFamily } from "./nft-model.ts";

export function ipFamilyOf(family: NftFamily): Family {
  return family === "ip" ? 4 : 6;
}

// A dotted quad without leading zeros is already canonical: skipping the bigint parser for it
// keeps rendering 100,000 endpoints well inside the proxy's time budget.
const CANONICAL_V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Canonical address text, "other-family" for a valid address of the other family, undefined if invalid. */
export type AddressCheck = string | "other-family" | undefined;

/** Canonicalises addresses of one family, remembering answers (a pod backs many service ports). */
export class AddressCanonicalizer {
  private readonly cache = new Map<string, AddressCheck>();
  constructor(private readonly family: Family) {}

  check(text: string): AddressCheck {
    const cached = this.cache.get(text);
    if (cached !== undefined || this.cache.has(text)) return cached;
    let result: AddressCheck;
    if (CANONICAL_V4.test(text)) {
      result = this.family === 4 ? text : "other-family";
    } else {
      const ip = tryParseIP(text);
      result = ip === undefined ? undefined : ip.family === this.family ? formatIP(ip) : "other-family";
    }
    this.cache.set(text, result);
    return result;
  }
}

export interface NormalizedCidrs {
  /** Canonical prefixes of the family, none inside another, sorted by address. */
  readonly cidrs: string[];
  /** Texts that are not prefixes at all (prefixes of the other family are simply not for this table). */
  readonly invalid: string[];
}

/**
 * Prefixes of `family` for an interval set: nft refuses overlapping intervals in one set, so a
 * prefix inside another (the pod CIDR inside 10.0.0.0/8) is dropped, and duplicates with it.
 */
export function normalizeCidrs(texts: readonly string[], family: Family): NormalizedCidrs {
  const invalid: string[] = [];
  const prefixes = [];
  for (const text of texts) {
    let prefix: ReturnType<typeof parsePrefix>;
    try {
      prefix = parsePrefix(text, { strict: false });
    } catch {
      invalid.push(text);
      continue;
    }
    if (prefix.family === family) prefixes.push(prefix);
  }
  prefixes.sort((a, b) =>
    a.network.value < b.network.value ? -1 : a.network.value > b.network.value ? 1 : a.length - b.length,
  );
  const kept: typeof prefixes = [];
  for (const p of prefixes) {
    // Prefixes nest or are disjoint, so in this order only the last kept one can contain p.
    const last = kept[kept.length - 1];
    if (last === undefined || !containsPrefix(last, p)) kept.push(p);
  }
  return { cidrs: kept.map(formatPrefix), invalid };
}
