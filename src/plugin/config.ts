/**
 * The podnet plugin's own network config (one entry of a conflist, `"type": "podnet"`).
 * IPAM is "builtin" when the ipam type is podnet-ipam (same code, run in-process: no extra
 * process start on the hot path) and "delegate" otherwise (executed from CNI_PATH, e.g. host-local).
 */

import { DEFAULT_BRIDGE, DEFAULT_MTU, IPAM_TYPE } from "../cni/conflist.ts";
import { ifnameProblem } from "../cni/env.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import type { PodnetIpamConfig } from "./podnet-ipam-config.ts";
import { parsePodnetIpam } from "./podnet-ipam-config.ts";

export type Mode = "bridge" | "ptp";

export type IpamSpec =
  | { readonly kind: "builtin"; readonly config: PodnetIpamConfig }
  | { readonly kind: "delegate"; readonly type: string };

export interface PodnetConfig {
  readonly netconf: NetConf;
  readonly mode: Mode;
  /** Bridge name (bridge mode only). */
  readonly bridge: string;
  readonly mtu: number;
  readonly hairpin: boolean;
  readonly ipam: IpamSpec;
  /** The node agent's readiness marker (STATUS is "not ready" until it exists). */
  readonly readyFile?: string;
}

const PLUGIN_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function parseMode(v: unknown): Mode {
  if (v === undefined) return "bridge";
  if (v === "bridge" || v === "ptp") return v;
  throw invalid(`mode ${JSON.stringify(v)} is not supported: use "bridge" or "ptp"`);
}

function parseMtu(v: unknown): number {
  if (v === undefined) return DEFAULT_MTU;
  // 68 is the IPv4 minimum (RFC 791); 1280 would be needed for IPv6 but is checked by the kernel.
  if (typeof v !== "number" || !Number.isInteger(v) || v < 68 || v > 65535) {
    throw invalid(`mtu ${JSON.stringify(v)} must be an integer between 68 and 65535`);
  }
  return v;
}

export function parseIpamSpec(netconf: NetConf): IpamSpec {
  const ipam = netconf.ipam;
  if (ipam === undefined)
    throw invalid('network config has no "ipam" section: podnet needs one to hand out addresses');
  if (typeof ipam.type !== "string" || !PLUGIN_TYPE.test(ipam.type)) {
    throw invalid(`ipam.type ${JSON.stringify(ipam.type)} is not a valid plugin name`);
  }
  if (ipam.type === IPAM_TYPE) return { kind: "builtin", config: parsePodnetIpam(ipam) };
  return { kind: "delegate", type: ipam.type };
}

export function parsePodnetConfig(netconf: NetConf): PodnetConfig {
  const raw = netconf.raw;
  const mode = parseMode(raw.mode);
  let bridge = DEFAULT_BRIDGE;
  if (raw.bridge !== undefined) {
    if (typeof raw.bridge !== "string") throw invalid("bridge must be a string");
    const problem = ifnameProblem(raw.bridge);
    if (problem !== undefined) throw invalid(`bridge ${JSON.stringify(raw.bridge)} ${problem}`);
    bridge = raw.bridge;
  }
  const hairpin = raw.hairpinMode === undefined ? true : raw.hairpinMode;
  if (typeof hairpin !== "boolean") throw invalid("hairpinMode must be true or false");
  let readyFile: string | undefined;
  if (raw.readyFile !== undefined) {
    const f = raw.readyFile;
    if (typeof f !== "string" || !f.startsWith("/") || f.includes("\0") || f.split("/").includes("..")) {
      throw invalid(`readyFile ${JSON.stringify(f)} must be an absolute path without ".."`);
    }
    readyFile = f;
  }
  return {
    netconf,
    mode,
    bridge,
    mtu: parseMtu(raw.mtu),
    hairpin,
    ipam: parseIpamSpec(netconf),
    ...(readyFile ? { readyFile } : {}),
  };
}
