import { unhandled } from "../base/unhandled.ts";
import { isIPv4Mapped } from "../ipnet/address.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import { formatPrefix, type IPPrefix, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";
import { type ClusterDnsConfig, clusterDnsBlock, parseClusterDns } from "./cluster-dns.ts";
import { ifnameProblem } from "./env.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { decodeJSON, networkNameProblem, pluginTypeProblem } from "./netconf.ts";
import {
  describeValue,
  invalid,
  isRecord,
  type JsonObject,
  readOptBoolean,
  readString,
  requireArray,
  requireRecord,
  type ShapeContext,
} from "./shape.ts";
import {
  assertSupportedVersion,
  type CniVersion,
  highestSupported,
  isSupportedVersion,
  SUPPORTED_VERSIONS,
} from "./version.ts";

export type PodnetMode = "bridge" | "ptp";
export type ChainedPlugin = "portmap" | "tuning";

export interface ConflistOptions {
  name: string;
  /** The node's pod block(s): at most one IPv4 and one IPv6 prefix. */
  subnets: string[];
  mode: PodnetMode;
  bridge?: string;
  mtu?: number;
  dataDir?: string;
  /**
   * Exactly this version, with no `cniVersions` list. Absent: `cniVersion`
   * DEFAULT_CNI_VERSION and `cniVersions` DEFAULT_CNI_VERSIONS, which every runtime in use accepts.
   */
  cniVersion?: CniVersion;
  chain?: ChainedPlugin[];
  /**
   * Written by the node agent once the node's network is programmed; STATUS reports "not
   * ready" (50) while it is missing. Absent for a standalone config (no agent).
   */
  readyFile?: string;
  /**
   * The node's cluster DNS: pods get `nameservers` and the cluster domain's search path with
   * ndots:5 in the ADD result's `dns`, as kubelet's ClusterFirst policy writes resolv.conf; the
   * plugin puts the pod's own `NS.svc.DOMAIN` first.
   */
  clusterDns?: ClusterDnsConfig;
}

export interface Conflist {
  /**
   * Rendered: the version runtimes without `cniVersions` support use. Parsed: the version a CNI 1.1
   * runtime picks, the highest of `cniVersion` and `cniVersions` this plugin supports.
   */
  cniVersion: CniVersion;
  /** The `cniVersions` list (CNI 1.1) when the file has one. */
  cniVersions?: string[];
  name: string;
  plugins: Record<string, unknown>[];
  disableCheck?: boolean;
  disableGC?: boolean;
}

export const DEFAULT_BRIDGE = "podnet0";
export const DEFAULT_MTU = 1500;
export const DEFAULT_DATA_DIR = "/run/podnet";
export const PLUGIN_TYPE = "podnet";
export const IPAM_TYPE = "podnet-ipam";

/**
 * The `cniVersion` of a conflist rendered without an explicit version. libcni before 1.2 (podman
 * 4.x, containerd 1.6/1.7, CRI-O up to 1.30) reads only this field and parses results up to 1.0.0,
 * so a 1.1.0 config fails there with "unsupported CNI result version".
 */
export const DEFAULT_CNI_VERSION: CniVersion = "1.0.0";

/**
 * The `cniVersions` of that default conflist. libcni 1.2 and later (containerd 2.x, CRI-O 1.31 and
 * later) picks the highest version it implements from `cniVersion` and this list (SPEC.md, "Version
 * considerations"): 1.1.0, so GC and STATUS work where the runtime calls them. Older libcni
 * ignores fields it does not know.
 */
export const DEFAULT_CNI_VERSIONS: readonly CniVersion[] = ["1.0.0", "1.1.0"];

/** IPv4 needs 68 octets (RFC 791), IPv6 1280 (RFC 8200 §5); 65535 is the largest IP packet. */
const MIN_MTU: Record<4 | 6, number> = { 4: 68, 6: 1280 };
const MAX_MTU = 65535;

const RENDER: ShapeContext = { where: "podnet conflist options", code: ErrorCode.InvalidNetworkConfig };
const LIST: ShapeContext = { where: "network configuration list", code: ErrorCode.InvalidNetworkConfig };

function parseSubnets(texts: readonly string[]): IPPrefix[] {
  if (texts.length === 0)
    throw invalid(RENDER, "no subnets given; a pod network needs an IPv4 or IPv6 subnet");
  const prefixes = texts.map((text) => {
    let p: IPPrefix;
    try {
      p = parsePrefix(text, { strict: true });
    } catch (error) {
      if (error instanceof AddressParseError) throw invalid(RENDER, error.message);
      throw error;
    }
    if (isIPv4Mapped(p.network)) {
      throw invalid(RENDER, `subnet "${text}" is IPv4-mapped IPv6; give the IPv4 subnet itself`);
    }
    if (p.length === 0) throw invalid(RENDER, `subnet "${text}" covers the whole address space`);
    return p;
  });
  for (let i = 0; i < prefixes.length; i++) {
    for (let j = i + 1; j < prefixes.length; j++) {
      const a = prefixes[i]!;
      const b = prefixes[j]!;
      if (prefixesOverlap(a, b)) {
        throw invalid(RENDER, `subnets "${formatPrefix(a)}" and "${formatPrefix(b)}" overlap`);
      }
      if (a.family === b.family) {
        throw invalid(
          RENDER,
          `subnets "${formatPrefix(a)}" and "${formatPrefix(b)}" are both IPv${a.family}; give at most one per family`,
        );
      }
    }
  }
  // IPv4 first, so the same pair of subnets renders the same file whatever order it came in.
  return prefixes.sort((a, b) => a.family - b.family);
}

/** An absolute path with no "." or ".." segments, written without doubled or trailing "/". */
function normalPath(dir: string, what = "dataDir"): string {
  if (!dir.startsWith("/") || dir.includes("\0")) {
    throw invalid(RENDER, `${what} ${JSON.stringify(dir)} must be an absolute path`);
  }
  const segments = dir.split("/").filter((s) => s !== "");
  if (segments.length === 0 || segments.some((s) => s === "." || s === "..")) {
    throw invalid(RENDER, `${what} ${JSON.stringify(dir)} must be a path without "." or ".." segments`);
  }
  return `/${segments.join("/")}`;
}

function chainEntry(plugin: ChainedPlugin): JsonObject {
  switch (plugin) {
    case "portmap":
      return { type: "portmap", capabilities: { portMappings: true } };
    case "tuning":
      return { type: "tuning" };
    default: {
      unhandled(plugin, (shown) => invalid(RENDER, `unknown chained plugin ${shown}`));
    }
  }
}

/**
 * The conflist the agent writes to /etc/cni/net.d for the podnet plugin. The first entry is the
 * contract with src/plugin: one IPAM range set per subnet and a default route per family.
 */
export function renderConflist(opts: ConflistOptions): Conflist {
  const nameProblem = networkNameProblem(opts.name);
  if (nameProblem !== undefined) throw invalid(RENDER, nameProblem);
  const subnets = parseSubnets(opts.subnets);
  const mtu = opts.mtu ?? DEFAULT_MTU;
  const minMtu = Math.max(...subnets.map((s) => MIN_MTU[s.family]));
  if (!Number.isInteger(mtu) || mtu < minMtu || mtu > MAX_MTU) {
    throw invalid(RENDER, `mtu ${mtu} must be an integer from ${minMtu} to ${MAX_MTU} for these subnets`);
  }
  const dataDir = normalPath(opts.dataDir ?? DEFAULT_DATA_DIR);
  const cniVersion = opts.cniVersion ?? DEFAULT_CNI_VERSION;
  if (!isSupportedVersion(cniVersion)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `Incompatible CNI version "${String(cniVersion)}": supported versions are ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }

  const plugin: JsonObject = { type: PLUGIN_TYPE, mode: opts.mode };
  switch (opts.mode) {
    case "bridge": {
      const bridge = opts.bridge ?? DEFAULT_BRIDGE;
      const problem = ifnameProblem(bridge);
      if (problem !== undefined) throw invalid(RENDER, `bridge name ${problem}`);
      plugin.bridge = bridge;
      break;
    }
    case "ptp":
      if (opts.bridge !== undefined)
        throw invalid(RENDER, `bridge "${opts.bridge}" is only meaningful in bridge mode`);
      break;
    default: {
      unhandled(opts.mode, (shown) => invalid(RENDER, `mode ${shown} is not "bridge" or "ptp"`));
    }
  }
  plugin.mtu = mtu;
  if (opts.readyFile !== undefined) plugin.readyFile = normalPath(opts.readyFile, "readyFile");
  if (opts.clusterDns !== undefined) {
    const clusterDns = parseClusterDns(opts.clusterDns, RENDER);
    plugin.clusterDomain = clusterDns.domain;
    plugin.dns = clusterDnsBlock(clusterDns);
  }
  // Hairpin lets a pod reach itself through a Service VIP that DNATs back to it.
  if (opts.mode === "bridge") plugin.hairpinMode = true;
  plugin.ipam = {
    type: IPAM_TYPE,
    ranges: subnets.map((s) => [{ subnet: formatPrefix(s) }]),
    routes: subnets.map((s) => ({ dst: s.family === 4 ? "0.0.0.0/0" : "::/0" })),
    dataDir,
  };

  const chain = opts.chain ?? [];
  const seen = new Set<ChainedPlugin>();
  const plugins: JsonObject[] = [plugin];
  for (const c of chain) {
    if (seen.has(c)) throw invalid(RENDER, `chained plugin "${c}" is listed twice`);
    seen.add(c);
    plugins.push(chainEntry(c));
  }
  // An explicit version is written alone: a list would let a newer runtime pick another one.
  if (opts.cniVersion !== undefined) return { cniVersion, name: opts.name, plugins };
  return { cniVersion, cniVersions: [...DEFAULT_CNI_VERSIONS], name: opts.name, plugins };
}

/**
 * CNI 1.1 ("Version considerations"): the runtime uses the highest version it supports from the set
 * of `cniVersion` and `cniVersions`, as libcni 1.2 does; without `cniVersions`, `cniVersion` alone.
 */
function negotiatedVersion(raw: JsonObject): { cniVersion: CniVersion; cniVersions?: string[] } {
  const listed = raw.cniVersions;
  if (listed === undefined || listed === null)
    return { cniVersion: assertSupportedVersion(raw.cniVersion, LIST.where) };
  const cniVersions = requireArray(LIST, listed, "cniVersions").map((v, i) => {
    if (typeof v !== "string") throw invalid(LIST, `"cniVersions[${i}]" must be a string`);
    return v;
  });
  const declared = raw.cniVersion;
  if (declared !== undefined && declared !== null && typeof declared !== "string")
    throw invalid(LIST, `"cniVersion" must be a string, got ${describeValue(declared)}`);
  const candidates = typeof declared === "string" ? [declared, ...cniVersions] : cniVersions;
  const best = highestSupported(candidates);
  if (best !== undefined) return { cniVersion: best, cniVersions };
  throw new CniError(
    ErrorCode.IncompatibleVersion,
    `Incompatible CNI versions ${candidates.map((v) => `"${v}"`).join(", ")}: this plugin supports ${SUPPORTED_VERSIONS.join(", ")}`,
  );
}

/** Reads a *.conflist file: JSON errors are code 6, bad structure 7, unsupported versions 1. */
export function parseConflist(text: string): Conflist {
  const raw = decodeJSON(text, LIST.where);
  if (!isRecord(raw)) throw invalid(LIST, "expected a JSON object");
  const { cniVersion, cniVersions } = negotiatedVersion(raw);
  const name = readString(LIST, raw, "name");
  const nameProblem = networkNameProblem(name);
  if (nameProblem !== undefined) throw invalid(LIST, nameProblem);
  if (raw.plugins === undefined) {
    throw invalid(LIST, '"plugins" is missing (single-plugin .conf files were removed in CNI 1.0)');
  }
  const items = requireArray(LIST, raw.plugins, "plugins");
  if (items.length === 0) throw invalid(LIST, '"plugins" is empty');
  const plugins = items.map((item, i) => {
    const plugin = requireRecord(LIST, item, `plugins[${i}]`);
    const type = readString(LIST, plugin, "type", `plugins[${i}].`);
    const problem = pluginTypeProblem(type);
    if (problem !== undefined) throw invalid(LIST, `"plugins[${i}].type" ${problem}`);
    return plugin;
  });
  const conflist: Conflist = { cniVersion, name, plugins };
  if (cniVersions !== undefined) conflist.cniVersions = cniVersions;
  const disableCheck = readOptBoolean(LIST, raw, "disableCheck");
  if (disableCheck !== undefined) conflist.disableCheck = disableCheck;
  const disableGC = readOptBoolean(LIST, raw, "disableGC");
  if (disableGC !== undefined) conflist.disableGC = disableGC;
  return conflist;
}
