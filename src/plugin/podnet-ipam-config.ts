/**
 * The `ipam` section understood by podnet's own IPAM (built into the plugin, or executed
 * standalone as `podnet-ipam`). The range format is the reference host-local's, so a config
 * written for host-local works unchanged.
 */
import { DEFAULT_DATA_DIR } from "../cni/conflist.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { InvalidRangeError } from "../ipam/errors.ts";
import type { RangeInput, RangeSet } from "../ipam/range-set.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { parseIP } from "../ipnet/address.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { parsePrefix } from "../ipnet/prefix.ts";

export interface RouteSpec {
  readonly dst: IPPrefix;
  readonly gw?: IPAddress;
}

export interface PodnetIpamConfig {
  readonly rangeSets: readonly RangeSet[];
  readonly routes: readonly RouteSpec[];
  readonly dataDir: string;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw invalid(`${where}.${key} must be a non-empty string`);
  return v;
}

function rangeInput(value: unknown, where: string): RangeInput {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`${where} must be an object`);
  const obj = value as Record<string, unknown>;
  const subnet = optionalString(obj, "subnet", where);
  if (subnet === undefined) throw invalid(`${where}.subnet is required`);
  const input: RangeInput = { subnet };
  const rangeStart = optionalString(obj, "rangeStart", where);
  const rangeEnd = optionalString(obj, "rangeEnd", where);
  const gateway = optionalString(obj, "gateway", where);
  return {
    ...input,
    ...(rangeStart ? { rangeStart } : {}),
    ...(rangeEnd ? { rangeEnd } : {}),
    ...(gateway ? { gateway } : {}),
  };
}

function rangeInputs(ipam: Record<string, unknown>): RangeInput[][] {
  if (ipam.ranges !== undefined) {
    if (!Array.isArray(ipam.ranges) || ipam.ranges.length === 0)
      throw invalid("ipam.ranges must be a non-empty array of range sets");
    return ipam.ranges.map((set, i) => {
      if (!Array.isArray(set) || set.length === 0)
        throw invalid(`ipam.ranges[${i}] must be a non-empty array of ranges`);
      return set.map((r, j) => rangeInput(r, `ipam.ranges[${i}][${j}]`));
    });
  }
  if (ipam.subnet !== undefined) return [[rangeInput(ipam, "ipam")]];
  throw invalid('ipam needs "ranges" (or "subnet")');
}

function parseRoutes(value: unknown): RouteSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid("ipam.routes must be an array");
  return value.map((r, i) => {
    const where = `ipam.routes[${i}]`;
    if (typeof r !== "object" || r === null) throw invalid(`${where} must be an object`);
    const obj = r as Record<string, unknown>;
    const dst = optionalString(obj, "dst", where);
    if (dst === undefined) throw invalid(`${where}.dst is required`);
    const gw = optionalString(obj, "gw", where);
    const prefix = parsePrefix(dst, { strict: false });
    if (gw === undefined) return { dst: prefix };
    const gwIP = parseIP(gw);
    if (gwIP.family !== prefix.family) throw invalid(`${where}: gw ${gw} is not of the family of dst ${dst}`);
    return { dst: prefix, gw: gwIP };
  });
}

function validateDataDir(dir: string): string {
  if (!dir.startsWith("/") || dir.includes("\0") || dir.split("/").includes("..")) {
    throw invalid(`ipam.dataDir "${dir}" must be an absolute path without ".."`);
  }
  return dir;
}

/** Parses and validates the ipam section; every failure is a CNI code 7 naming the field. */
export function parsePodnetIpam(ipam: Record<string, unknown>): PodnetIpamConfig {
  try {
    const rangeSets = buildRangeSets(rangeInputs(ipam));
    const routes = parseRoutes(ipam.routes);
    const dataDir = validateDataDir(optionalString(ipam, "dataDir", "ipam") ?? DEFAULT_DATA_DIR);
    return { rangeSets, routes, dataDir };
  } catch (e) {
    if (e instanceof AddressParseError || e instanceof InvalidRangeError)
      throw invalid(`Invalid ipam config: ${e.message}`);
    throw e;
  }
}
