/**
 * Writes the node's CNI conflist where the container runtime reads it. Atomic (temp file and
 * rename in the same directory): a runtime listing the directory never sees half a file.
 * The versions are renderConflist's defaults (cniVersion 1.0.0, cniVersions 1.0.0 and 1.1.0): the
 * node may run containerd 1.6/1.7 or CRI-O before 1.31, whose libcni refuses 1.1.0 results, or
 * containerd 2.x, which picks 1.1.0 from the list and can then ask the plugin for STATUS.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { ClusterDnsConfig } from "../cni/cluster-dns.ts";
import { renderConflist } from "../cni/conflist.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix } from "../ipnet/prefix.ts";

export const CONFLIST_NAME = "10-podnet.conflist";

export interface NodeCniConfig {
  readonly confDir: string;
  readonly network: string;
  readonly blocks: readonly IPPrefix[];
  readonly mtu: number;
  readonly dataDir: string;
  readonly readyFile: string;
  readonly mode: "bridge" | "ptp";
  /** The node-local DNS pods are given (nameserver, cluster search path); none when DNS is off. */
  readonly clusterDns?: ClusterDnsConfig;
}

/** Returns whether the file changed. */
export function writeNodeConflist(c: NodeCniConfig): boolean {
  const conflist = renderConflist({
    name: c.network,
    subnets: c.blocks.map(formatPrefix),
    mode: c.mode,
    mtu: c.mtu,
    dataDir: c.dataDir,
    readyFile: c.readyFile,
    ...(c.clusterDns ? { clusterDns: c.clusterDns } : {}),
  });
  const text = `${JSON.stringify(conflist, null, 2)}\n`;
  const path = `${c.confDir}/${CONFLIST_NAME}`;
  try {
    if (readFileSync(path, "utf8") === text) return false;
  } catch {
    // not there yet
  }
  mkdirSync(c.confDir, { recursive: true, mode: 0o755 });
  const tmp = `${c.confDir}/.${CONFLIST_NAME}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
  return true;
}
