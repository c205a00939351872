import { formatIP, type IPAddress, ipEquals, ipFromBigint } from "../ipnet/address.ts";
import { containsIP, formatPrefix } from "../ipnet/prefix.ts";
import { formatRange, rangeContains } from "../ipnet/range.ts";
import { AddressExhaustedError, RequestedAddressError } from "./errors.ts";
import { type AddressRange, isAllocatable, type RangeSet, reservedReason } from "./range-set.ts";

export interface AllocationInput {
  rangeSets: readonly RangeSet[];
  /** At most one per set; each must fall in some set's range. */
  requested: readonly IPAddress[];
  isAllocated: (ip: IPAddress) => boolean;
  /** The address most recently handed out from a set, so the search resumes after it. */
  lastReserved: (setIndex: number) => IPAddress | undefined;
}

export interface ChosenAddress {
  setIndex: number;
  ip: IPAddress;
  range: AddressRange;
}

function locate(
  rangeSets: readonly RangeSet[],
  ip: IPAddress,
): { setIndex: number; range: AddressRange } | undefined {
  for (const [setIndex, set] of rangeSets.entries()) {
    for (const range of set) if (rangeContains(range, ip)) return { setIndex, range };
  }
  return undefined;
}

function whyNotInRange(rangeSets: readonly RangeSet[], ip: IPAddress): string {
  for (const set of rangeSets) {
    for (const range of set) {
      if (!containsIP(range.subnet, ip)) continue;
      return (
        reservedReason(range, ip) ??
        `is outside the allocatable range ${formatRange(range)} of "${formatPrefix(range.subnet)}"`
      );
    }
  }
  return "is not inside any configured range";
}

function chooseRequested(input: AllocationInput, ip: IPAddress): ChosenAddress {
  const found = locate(input.rangeSets, ip);
  if (found === undefined) throw new RequestedAddressError(formatIP(ip), whyNotInRange(input.rangeSets, ip));
  const reserved = reservedReason(found.range, ip);
  if (reserved !== undefined) throw new RequestedAddressError(formatIP(ip), reserved);
  if (input.isAllocated(ip)) throw new RequestedAddressError(formatIP(ip), "is already in use");
  return { setIndex: found.setIndex, ip, range: found.range };
}

/** Spans to scan, as [range, first value, last value], in round-robin order after `last`. */
function scanOrder(set: RangeSet, last: IPAddress | undefined): [AddressRange, bigint, bigint][] {
  const at = last === undefined ? -1 : set.findIndex((r) => rangeContains(r, last));
  if (last === undefined || at === -1) return set.map((r) => [r, r.start.value, r.end.value]);
  const spans: [AddressRange, bigint, bigint][] = [];
  const current = set[at]!;
  spans.push([current, last.value + 1n, current.end.value]);
  for (let k = 1; k < set.length; k++) {
    const r = set[(at + k) % set.length]!;
    spans.push([r, r.start.value, r.end.value]);
  }
  // The last reserved address itself comes last, so a just-released IP is not reused at once.
  spans.push([current, current.start.value, last.value]);
  return spans;
}

function chooseNext(input: AllocationInput, setIndex: number): ChosenAddress {
  const set = input.rangeSets[setIndex]!;
  for (const [range, from, to] of scanOrder(set, input.lastReserved(setIndex))) {
    const family = range.start.family;
    for (let v = from; v <= to; v += 1n) {
      const ip = ipFromBigint(family, v);
      if (reservedReason(range, ip) === undefined && !input.isAllocated(ip)) return { setIndex, ip, range };
    }
  }
  throw new AddressExhaustedError(set.map((r) => formatPrefix(r.subnet)));
}

/** Picks one address per range set, in set order; requested addresses take their set's slot. */
export function chooseAddresses(input: AllocationInput): ChosenAddress[] {
  const chosen = new Map<number, ChosenAddress>();
  for (const ip of input.requested) {
    const choice = chooseRequested(input, ip);
    const earlier = chosen.get(choice.setIndex);
    if (earlier !== undefined) {
      throw new RequestedAddressError(
        formatIP(ip),
        `range set ${choice.setIndex} already has the requested address "${formatIP(earlier.ip)}"`,
      );
    }
    chosen.set(choice.setIndex, choice);
  }
  return input.rangeSets.map((_, setIndex) => chosen.get(setIndex) ?? chooseNext(input, setIndex));
}

/**
 * Re-describes addresses an attachment already holds in terms of `rangeSets`: one chosen
 * address per set, in set order, if they are exactly one allocatable address per set and
 * include every requested address; otherwise undefined (the holder needs a fresh allocation).
 */
export function matchHeld(
  held: readonly IPAddress[],
  rangeSets: readonly RangeSet[],
  requested: readonly IPAddress[],
): ChosenAddress[] | undefined {
  if (held.length === 0 || held.length !== rangeSets.length) return undefined;
  if (!requested.every((ip) => held.some((h) => ipEquals(h, ip)))) {
    return undefined;
  }
  const result: ChosenAddress[] = [];
  for (const [setIndex, set] of rangeSets.entries()) {
    const matches = held.flatMap((ip) => {
      const range = set.find((r) => isAllocatable(r, ip));
      return range === undefined ? [] : [{ setIndex, ip, range }];
    });
    if (matches.length !== 1) return undefined;
    result.push(matches[0]!);
  }
  return result;
}
