/**
 * A test node's routing state as the kernel reports it: the routes podnet owns (protocol 200)
 * and, for VXLAN, the device, its neighbour and FDB entries — read with `ip`/`bridge -j` inside
 * the node's namespace, independent of what the agent claims.
 */
import { VXLAN_DEV } from "../../../src/agent/vxlan-device.ts";
import { runSync } from "../../../src/linux/exec.ts";
import { ipJsonIn } from "./kernel-state.ts";

export interface PeerRouteEntry {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly flags?: readonly string[];
}

export interface NeighEntry {
  readonly dst: string;
  readonly lladdr?: string;
  readonly state?: readonly string[];
}

export interface FdbRow {
  readonly mac: string;
  readonly dst?: string;
  readonly state?: string;
}

/**
 * JSON from an `ip`/`bridge` query about the VXLAN device; empty when the device does not exist
 * (not created yet, or briefly absent while an agent recreates it for a new node IP).
 */
function vxlanJson<T>(argv: readonly string[]): T[] {
  const r = runSync(argv);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return [];
    throw new Error(`"${argv.join(" ")}" failed: ${r.stderr.trim()}`);
  }
  const text = r.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as T[]);
}

/** IPv4 routes podnet owns in the namespace (protocol 200). */
export function peerRoutesIn(netns: string): PeerRouteEntry[] {
  return ipJsonIn<PeerRouteEntry>(netns, ["-4", "route", "show", "proto", "200"]);
}

export function vxlanNeighsIn(netns: string): NeighEntry[] {
  return vxlanJson<NeighEntry>(["ip", "-n", netns, "-j", "neigh", "show", "dev", VXLAN_DEV]);
}

export function vxlanFdbIn(netns: string): FdbRow[] {
  return vxlanJson<FdbRow>(["bridge", "-n", netns, "-j", "fdb", "show", "dev", VXLAN_DEV]);
}

export function hasVxlanIn(netns: string): boolean {
  return runSync(["ip", "-n", netns, "link", "show", "dev", VXLAN_DEV]).code === 0;
}

/** The MAC of the namespace's own VXLAN device; undefined when it has none. */
export function vxlanMacIn(netns: string): string | undefined {
  const [link] = vxlanJson<{ address?: string }>(["ip", "-n", netns, "-j", "link", "show", "dev", VXLAN_DEV]);
  return link?.address;
}
