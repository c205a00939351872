import { type Family, parseIP } from "../ipnet/address.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { ErrorCode } from "./errors.ts";
import {
  invalid,
  isRecord,
  type JsonObject,
  readOptInteger,
  readOptString,
  readOptStringArray,
  readString,
  requireArray,
  requireRecord,
  type ShapeContext,
} from "./shape.ts";
import { type CniVersion, compareVersions, SUPPORTED_VERSIONS } from "./version.ts";

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig {
  /** The interface address in CIDR form, e.g. "10.244.1.5/24". */
  address: string;
  gateway?: string;
  /** Index into Result.interfaces; IPAM results leave it out. */
  interface?: number;
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** 0.3.x results have the same shape as 0.4.0 ones, so a prevResult cached under them still reads. */
const RESULT_VERSIONS: readonly string[] = ["0.3.0", "0.3.1", ...SUPPORTED_VERSIONS];

const U32 = 0xffff_ffff;
const I32 = 0x7fff_ffff;

export interface ParseResultOptions {
  /** 7 (default) for results embedded in a config, 6 for a delegate plugin's undecodable output. */
  code?: number;
  /** Used when the document has no cniVersion; libcni reads prevResult with the config's version. */
  fallbackVersion?: string;
}

function addressFamily(ctx: ShapeContext, text: string, field: string, cidr: boolean): Family {
  try {
    return cidr ? parsePrefix(text, { strict: false }).family : parseIP(text).family;
  } catch (error) {
    if (error instanceof AddressParseError) throw invalid(ctx, `"${field}": ${error.message}`);
    throw error;
  }
}

export function parseDNS(ctx: ShapeContext, v: JsonObject, path = "dns."): DNS {
  const dns: DNS = {};
  const nameservers = readOptStringArray(ctx, v, "nameservers", path);
  const domain = readOptString(ctx, v, "domain", path);
  const search = readOptStringArray(ctx, v, "search", path);
  const options = readOptStringArray(ctx, v, "options", path);
  if (nameservers !== undefined) dns.nameservers = nameservers;
  if (domain !== undefined) dns.domain = domain;
  if (search !== undefined) dns.search = search;
  if (options !== undefined) dns.options = options;
  return dns;
}

function parseInterface(ctx: ShapeContext, item: unknown, i: number): Interface {
  const path = `interfaces[${i}].`;
  const v = requireRecord(ctx, item, `interfaces[${i}]`);
  const name = readString(ctx, v, "name", path);
  if (name === "") throw invalid(ctx, `"${path}name" must not be empty`);
  const iface: Interface = { name };
  const mac = readOptString(ctx, v, "mac", path);
  const mtu = readOptInteger(ctx, v, "mtu", path, 0, I32);
  const sandbox = readOptString(ctx, v, "sandbox", path);
  const socketPath = readOptString(ctx, v, "socketPath", path);
  const pciID = readOptString(ctx, v, "pciID", path);
  if (mac !== undefined && mac !== "") iface.mac = mac;
  if (mtu !== undefined && mtu !== 0) iface.mtu = mtu;
  if (sandbox !== undefined && sandbox !== "") iface.sandbox = sandbox;
  if (socketPath !== undefined && socketPath !== "") iface.socketPath = socketPath;
  if (pciID !== undefined && pciID !== "") iface.pciID = pciID;
  return iface;
}

function parseIPConfig(ctx: ShapeContext, item: unknown, i: number, interfaceCount: number): IPConfig {
  const path = `ips[${i}].`;
  const v = requireRecord(ctx, item, `ips[${i}]`);
  const address = readString(ctx, v, "address", path);
  const family = addressFamily(ctx, address, `${path}address`, true);
  // 0.3.x/0.4.0 carry a redundant "version"; when present it must agree with the address.
  const version = readOptString(ctx, v, "version", path);
  if (version !== undefined && version !== String(family)) {
    throw invalid(
      ctx,
      `"${path}version" is ${JSON.stringify(version)} but ${address} is an IPv${family} address`,
    );
  }
  const ip: IPConfig = { address };
  const gateway = readOptString(ctx, v, "gateway", path);
  if (gateway !== undefined && gateway !== "") {
    const gwFamily = addressFamily(ctx, gateway, `${path}gateway`, false);
    if (gwFamily !== family) {
      throw invalid(ctx, `"${path}gateway" ${gateway} is IPv${gwFamily} but the address is IPv${family}`);
    }
    ip.gateway = gateway;
  }
  const index = readOptInteger(ctx, v, "interface", path, 0, I32);
  if (index !== undefined) {
    if (index >= interfaceCount) {
      throw invalid(
        ctx,
        `"${path}interface" is ${index} but there ${interfaceCount === 1 ? "is 1 interface" : `are ${interfaceCount} interfaces`}`,
      );
    }
    ip.interface = index;
  }
  return ip;
}

function parseRoute(ctx: ShapeContext, item: unknown, i: number): Route {
  const path = `routes[${i}].`;
  const v = requireRecord(ctx, item, `routes[${i}]`);
  const dst = readString(ctx, v, "dst", path);
  const family = addressFamily(ctx, dst, `${path}dst`, true);
  const route: Route = { dst };
  const gw = readOptString(ctx, v, "gw", path);
  if (gw !== undefined && gw !== "") {
    const gwFamily = addressFamily(ctx, gw, `${path}gw`, false);
    if (gwFamily !== family)
      throw invalid(ctx, `"${path}gw" ${gw} is IPv${gwFamily} but ${dst} is IPv${family}`);
    route.gw = gw;
  }
  const numeric: [keyof Route & ("mtu" | "advmss" | "priority" | "table" | "scope"), number][] = [
    ["mtu", I32],
    ["advmss", 0xffff],
    ["priority", U32],
    ["table", U32],
    ["scope", 0xff],
  ];
  for (const [key, max] of numeric) {
    const n = readOptInteger(ctx, v, key, path, 0, max);
    if (n !== undefined) route[key] = n;
  }
  return route;
}

/**
 * Validates a result document: an ADD result, an IPAM result or a prevResult. Accepts both the
 * 0.3.x/0.4.0 shape (ips[].version) and the 1.x shape; the returned Result is version-neutral.
 */
export function parseResult(value: unknown, where: string, options: ParseResultOptions = {}): Result {
  const ctx: ShapeContext = { where, code: options.code ?? ErrorCode.InvalidNetworkConfig };
  if (!isRecord(value)) throw invalid(ctx, "expected a JSON object");
  const cniVersion = readOptString(ctx, value, "cniVersion") ?? options.fallbackVersion;
  if (cniVersion === undefined) throw invalid(ctx, '"cniVersion" is missing');
  if (!RESULT_VERSIONS.includes(cniVersion)) {
    throw invalid(ctx, `result version "${cniVersion}" is not one of ${RESULT_VERSIONS.join(", ")}`);
  }
  const result: Result = { cniVersion };
  if (value.interfaces !== undefined && value.interfaces !== null) {
    result.interfaces = requireArray(ctx, value.interfaces, "interfaces").map((item, i) =>
      parseInterface(ctx, item, i),
    );
  }
  const interfaceCount = result.interfaces?.length ?? 0;
  if (value.ips !== undefined && value.ips !== null) {
    result.ips = requireArray(ctx, value.ips, "ips").map((item, i) =>
      parseIPConfig(ctx, item, i, interfaceCount),
    );
  }
  if (value.routes !== undefined && value.routes !== null) {
    result.routes = requireArray(ctx, value.routes, "routes").map((item, i) => parseRoute(ctx, item, i));
  }
  if (value.dns !== undefined && value.dns !== null) {
    const dns = parseDNS(ctx, requireRecord(ctx, value.dns, "dns"));
    if (Object.keys(dns).length > 0) result.dns = dns;
  }
  return result;
}

function ipFamilyOf(address: string): "4" | "6" {
  return address.includes(":") ? "6" : "4";
}

/**
 * The result as printed for a config of `cniVersion`: 0.4.0 adds ips[].version; versions before
 * 1.1.0 lose the fields 1.1 introduced (interface mtu/socketPath/pciID, route mtu/advmss/
 * priority/table/scope). Empty lists and an empty dns are left out, as Go's omitempty does.
 */
export function encodeResult(result: Result, cniVersion: CniVersion): JsonObject {
  const has11 = compareVersions(cniVersion, "1.1.0") >= 0;
  const hasIPVersion = compareVersions(cniVersion, "1.0.0") < 0;
  const out: JsonObject = { cniVersion };
  if (result.interfaces !== undefined && result.interfaces.length > 0) {
    out.interfaces = result.interfaces.map((iface) =>
      compact({
        name: iface.name,
        mac: iface.mac,
        mtu: has11 ? iface.mtu : undefined,
        sandbox: iface.sandbox,
        socketPath: has11 ? iface.socketPath : undefined,
        pciID: has11 ? iface.pciID : undefined,
      }),
    );
  }
  if (result.ips !== undefined && result.ips.length > 0) {
    out.ips = result.ips.map((ip) =>
      compact({
        version: hasIPVersion ? ipFamilyOf(ip.address) : undefined,
        interface: ip.interface,
        address: ip.address,
        gateway: ip.gateway,
      }),
    );
  }
  if (result.routes !== undefined && result.routes.length > 0) {
    out.routes = result.routes.map((r) =>
      compact({
        dst: r.dst,
        gw: r.gw,
        mtu: has11 ? r.mtu : undefined,
        advmss: has11 ? r.advmss : undefined,
        priority: has11 ? r.priority : undefined,
        table: has11 ? r.table : undefined,
        scope: has11 ? r.scope : undefined,
      }),
    );
  }
  if (result.dns !== undefined) {
    const dns: JsonObject = {};
    for (const [k, v] of Object.entries(result.dns)) {
      if (v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) continue;
      dns[k] = Array.isArray(v) ? [...v] : v;
    }
    if (Object.keys(dns).length > 0) out.dns = dns;
  }
  return out;
}

function compact(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}
