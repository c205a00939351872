/**
 * Service ClusterIP allocation as Kubernetes does it since KEP-3070 (GA in 1.26): the bottom
 * of the service CIDR, `min(max(16, size/16), 256)` addresses above the network address, is a
 * static band kept for explicitly requested IPs (the `kubernetes` Service at the first address,
 * cluster DNS at the tenth by convention). Automatic allocations come from the dynamic band
 * above it and fall back to the static band only when the dynamic band is full. CIDRs of 16
 * addresses or fewer have no static band. Pure: the caller says what is taken (`isAllocated`).
 */
import { addToIP, formatIP, type IPAddress, ipFromBigint } from "../ipnet/address.ts";
import { containsIP, formatPrefix, type IPPrefix, lastIP, nthIP, prefixSize } from "../ipnet/prefix.ts";
import { type IPRange, makeRange, rangeSize } from "../ipnet/range.ts";
import { ServiceIPExhaustedError, ServiceIPUnavailableError } from "./cluster-errors.ts";

/** KEP-3070's band formula: never less than 16 nor more than 256 addresses, size/16 between. */
export function staticBandSize(cidr: IPPrefix): bigint {
  const size = prefixSize(cidr);
  if (size <= 16n) return 0n;
  const offset = size / 16n;
  return offset < 16n ? 16n : offset > 256n ? 256n : offset;
}

export interface ServiceIPBands {
  readonly cidr: IPPrefix;
  /** Every address a ClusterIP may have: the network address and IPv4 broadcast excluded. */
  readonly usable: IPRange;
  /** For explicitly requested IPs; automatic ones only when the dynamic band is full. */
  readonly staticBand: IPRange | undefined;
  readonly dynamicBand: IPRange | undefined;
  /** The first address, conventionally the `kubernetes` Service's: only given on request. */
  readonly kubernetesIP: IPAddress;
}

export function serviceIPBands(cidr: IPPrefix): ServiceIPBands {
  const first = addToIP(cidr.network, 1n);
  const last = cidr.family === 4 ? addToIP(lastIP(cidr), -1n) : lastIP(cidr);
  if (last.value < first.value) {
    throw new RangeError(`Service CIDR "${formatPrefix(cidr)}" has no address for a ClusterIP`);
  }
  const band = staticBandSize(cidr);
  const staticEnd = nthIP(cidr, band);
  const staticBand = band === 0n ? undefined : makeRange(first, staticEnd);
  const dynamicStart = band === 0n ? first : addToIP(staticEnd, 1n);
  const dynamicBand = dynamicStart.value <= last.value ? makeRange(dynamicStart, last) : undefined;
  return { cidr, usable: makeRange(first, last), staticBand, dynamicBand, kubernetesIP: first };
}

/** How many ClusterIPs the CIDR holds. */
export function serviceIPCapacity(cidr: IPPrefix): bigint {
  return rangeSize(serviceIPBands(cidr).usable);
}

/** Why `ip` can never be a ClusterIP of `cidr`, or undefined if it can. */
export function serviceIPProblem(cidr: IPPrefix, ip: IPAddress): string | undefined {
  const where = `"${formatPrefix(cidr)}"`;
  if (ip.family !== cidr.family) return `is IPv${ip.family} but service CIDR ${where} is IPv${cidr.family}`;
  if (!containsIP(cidr, ip)) return `is not inside service CIDR ${where}`;
  if (ip.value === cidr.network.value) return `is the network address of ${where}`;
  if (cidr.family === 4 && ip.value === lastIP(cidr).value) return `is the broadcast address of ${where}`;
  return undefined;
}

export interface ServiceIPRequest {
  readonly cidr: IPPrefix;
  /** An explicitly requested ClusterIP: allowed anywhere in the usable range if free. */
  readonly requested?: IPAddress;
  readonly isAllocated: (ip: IPAddress) => boolean;
  /**
   * Where in the dynamic band the search starts, as a fraction in [0, 1), e.g. Math.random.
   * Random starts make concurrent allocators (each committing with compare-and-swap) collide
   * rarely; without it the search starts at the bottom of the band, which tests rely on.
   */
  readonly random?: () => number;
}

/** Offset into a span of `size` for a fraction in [0, 1), exact for ranges beyond 2^53. */
function startOffset(size: bigint, random: (() => number) | undefined): bigint {
  if (random === undefined) return 0n;
  const fraction = BigInt(Math.floor(Math.min(Math.max(random(), 0), 1 - 2 ** -53) * 2 ** 53));
  return (fraction * size) >> 53n;
}

function scan(
  range: IPRange,
  order: { from: bigint; step: 1n | -1n },
  free: (ip: IPAddress) => boolean,
): IPAddress | undefined {
  const { start, end } = range;
  const family = start.family;
  const size = end.value - start.value + 1n;
  for (let k = 0n; k < size; k++) {
    const offset = order.step === 1n ? (order.from + k) % size : (order.from - k + size) % size;
    const ip = ipFromBigint(family, start.value + offset);
    if (free(ip)) return ip;
  }
  return undefined;
}

export function allocateServiceIP(request: ServiceIPRequest): IPAddress {
  const { cidr, requested, isAllocated } = request;
  if (requested !== undefined) {
    const problem = serviceIPProblem(cidr, requested);
    if (problem !== undefined) throw new ServiceIPUnavailableError(formatIP(requested), problem);
    if (isAllocated(requested))
      throw new ServiceIPUnavailableError(formatIP(requested), "is already allocated");
    return requested;
  }
  const bands = serviceIPBands(cidr);
  const free = (ip: IPAddress) => ip.value !== bands.kubernetesIP.value && !isAllocated(ip);
  if (bands.dynamicBand !== undefined) {
    const from = startOffset(rangeSize(bands.dynamicBand), request.random);
    const ip = scan(bands.dynamicBand, { from, step: 1n }, free);
    if (ip !== undefined) return ip;
  }
  if (bands.staticBand !== undefined) {
    // Downwards from the top: well-known static IPs (kubernetes, DNS) sit at the bottom.
    const ip = scan(bands.staticBand, { from: rangeSize(bands.staticBand) - 1n, step: -1n }, free);
    if (ip !== undefined) return ip;
  }
  throw new ServiceIPExhaustedError(formatPrefix(cidr));
}
