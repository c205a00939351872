import { addToIP, compareIP, formatIP, type IPAddress, ipEquals, parseIP } from "../ipnet/address.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import { containsIP, formatPrefix, type IPPrefix, lastIP, nthIP, parsePrefix } from "../ipnet/prefix.ts";
import { formatRange, rangeContains, rangesOverlap } from "../ipnet/range.ts";
import { InvalidRangeError } from "./errors.ts";

/** An allocatable span `start..end` (inclusive) inside `subnet`; the gateway is never handed out. */
export interface AddressRange {
  readonly subnet: IPPrefix;
  readonly start: IPAddress;
  readonly end: IPAddress;
  readonly gateway?: IPAddress;
}

/** One address is allocated per set; all ranges of a set share a family. */
export type RangeSet = readonly AddressRange[];

/** The reference host-local's range format. */
export interface RangeInput {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/**
 * IPv4 /31 and /32 (RFC 3021) and IPv6 /127 and /128 (RFC 6164) are point-to-point links:
 * every address is a host address and there is no room for a separate gateway.
 */
export function isPointToPoint(subnet: IPPrefix): boolean {
  return subnet.length >= (subnet.family === 4 ? 31 : 127);
}

/** Why `ip` may never be handed out in `subnet` (network or IPv4 broadcast), if it may not. */
function structuralReservation(subnet: IPPrefix, ip: IPAddress): string | undefined {
  if (isPointToPoint(subnet)) return undefined;
  if (ipEquals(ip, subnet.network)) return `is the network address of "${formatPrefix(subnet)}"`;
  if (subnet.family === 4 && ipEquals(ip, lastIP(subnet))) {
    return `is the broadcast address of "${formatPrefix(subnet)}"`;
  }
  return undefined;
}

/** Why `ip` is never handed out from `range` (gateway, network, broadcast), or undefined if it may be. */
export function reservedReason(range: AddressRange, ip: IPAddress): string | undefined {
  if (range.gateway !== undefined && ipEquals(ip, range.gateway)) {
    return `is the gateway of "${formatPrefix(range.subnet)}"`;
  }
  return structuralReservation(range.subnet, ip);
}

/** Whether `ip` is one the allocator may hand out from `range`. */
export function isAllocatable(range: AddressRange, ip: IPAddress): boolean {
  return rangeContains(range, ip) && reservedReason(range, ip) === undefined;
}

export function allocatableCount(range: AddressRange): bigint {
  let count = range.end.value - range.start.value + 1n;
  if (range.gateway !== undefined && rangeContains(range, range.gateway)) count--;
  return count;
}

/** Text identifying a range set by its subnets, stable across reorderings of other sets (a state key). */
export function rangeSetKey(set: RangeSet): string {
  return set.map((r) => formatPrefix(r.subnet)).join(",");
}

function parseAddressField(field: string, text: string, subnet: IPPrefix): IPAddress {
  let ip: IPAddress;
  try {
    ip = parseIP(text);
  } catch (error) {
    if (error instanceof AddressParseError) throw new InvalidRangeError(field, text, error.reason);
    throw error;
  }
  if (ip.family !== subnet.family) {
    throw new InvalidRangeError(
      field,
      text,
      `is IPv${ip.family} but subnet "${formatPrefix(subnet)}" is IPv${subnet.family}`,
    );
  }
  if (!containsIP(subnet, ip)) {
    throw new InvalidRangeError(field, text, `is not inside subnet "${formatPrefix(subnet)}"`);
  }
  const reserved = structuralReservation(subnet, ip);
  if (reserved !== undefined) throw new InvalidRangeError(field, text, reserved);
  return ip;
}

/**
 * Applies host-local's defaults: gateway = network+1, start = network+1, end = the IPv4
 * broadcast−1 or the last IPv6 address. `where` prefixes field names in errors.
 */
export function buildRange(input: RangeInput, where = ""): AddressRange {
  let subnet: IPPrefix;
  try {
    subnet = parsePrefix(input.subnet);
  } catch (error) {
    if (error instanceof AddressParseError)
      throw new InvalidRangeError(`${where}subnet`, input.subnet, error.reason);
    throw error;
  }
  const p2p = isPointToPoint(subnet);
  const gateway =
    input.gateway !== undefined
      ? parseAddressField(`${where}gateway`, input.gateway, subnet)
      : p2p
        ? undefined
        : nthIP(subnet, 1n);
  const start =
    input.rangeStart !== undefined
      ? parseAddressField(`${where}rangeStart`, input.rangeStart, subnet)
      : p2p
        ? subnet.network
        : nthIP(subnet, 1n);
  const last = lastIP(subnet);
  const end =
    input.rangeEnd !== undefined
      ? parseAddressField(`${where}rangeEnd`, input.rangeEnd, subnet)
      : !p2p && subnet.family === 4
        ? addToIP(last, -1n)
        : last;
  if (compareIP(start, end) > 0) {
    throw new InvalidRangeError(
      `${where}rangeEnd`,
      formatIP(end),
      `is before rangeStart "${formatIP(start)}"`,
    );
  }
  const range: AddressRange =
    gateway === undefined ? { subnet, start, end } : { subnet, start, end, gateway };
  if (allocatableCount(range) < 1n) {
    throw new InvalidRangeError(
      `${where}subnet`,
      input.subnet,
      `range ${formatRange(range)} has no allocatable address besides the gateway`,
    );
  }
  return range;
}

/** Builds and validates `ranges` (one inner array per set); range spans may not overlap anywhere. */
export function buildRangeSets(input: RangeInput[][]): RangeSet[] {
  if (input.length === 0)
    throw new InvalidRangeError("ranges", undefined, "must contain at least one range set");
  const seen: { range: AddressRange; where: string }[] = [];
  return input.map((set, i) => {
    if (set.length === 0)
      throw new InvalidRangeError(`ranges[${i}]`, undefined, "must contain at least one range");
    const built = set.map((rangeInput, j) => buildRange(rangeInput, `ranges[${i}][${j}].`));
    built.forEach((range, j) => {
      const where = `ranges[${i}][${j}]`;
      const family = built[0]?.subnet.family;
      if (range.subnet.family !== family) {
        throw new InvalidRangeError(
          `${where}.subnet`,
          formatPrefix(range.subnet),
          `is IPv${range.subnet.family} but ranges[${i}][0] is IPv${family}; a range set holds one family`,
        );
      }
      for (const other of seen) {
        if (rangesOverlap(other.range, range)) {
          throw new InvalidRangeError(
            where,
            formatRange(range),
            `overlaps ${other.where} (${formatRange(other.range)})`,
          );
        }
      }
      seen.push({ range, where });
    });
    return built;
  });
}
