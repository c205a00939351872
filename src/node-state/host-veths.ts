/**
 * The node state the kernel keeps: each pod's host veth carries the alias
 * `podnet:NETWORK:CONTAINER:IFNAME`, written by the plugin at ADD. GC finds a network's veths by
 * it, and the agent tells which allocations still have a live pod by it, so the alias is written
 * and read only here.
 */
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { ipJson, type LinkInfo } from "../linux/ip.ts";

/** The kernel's alias limit is 256 bytes including the terminator (IFALIASZ). */
const ALIAS_MAX = 255;
const ALIAS_TAG = "podnet";

/** A podnet host veth: its name, and the attachment it serves when its alias can be read whole. */
export interface HostVeth {
  readonly ifname: string;
  readonly attachment: AttachmentKey | undefined;
}

/** Alias set on the host veth: which network owns it (for GC) and which pod it serves (for humans). */
export function hostVethAlias(key: AttachmentKey): string {
  return `${ALIAS_TAG}:${key.network}:${key.containerId}:${key.ifname}`.slice(0, ALIAS_MAX);
}

function aliasOwnerPrefix(network: string): string {
  return `${ALIAS_TAG}:${network}:`;
}

/**
 * The attachment an alias names, or undefined when it is not one of podnet's or was cut at the
 * kernel's limit before the interface name. Network names, container IDs and interface names
 * never contain ":" (the plugin refuses them, cni/env.ts and cni/netconf.ts), so the three
 * fields split unambiguously.
 */
export function parseHostVethAlias(alias: string): AttachmentKey | undefined {
  const [tag, network, containerId, ifname, ...rest] = alias.split(":");
  if (tag !== ALIAS_TAG || rest.length > 0) return undefined;
  if (!network || !containerId || !ifname) return undefined;
  return { network, containerId, ifname };
}

/** podnet host veths of `network` (found by the alias podnet sets on them). */
export function listHostVeths(network: string): HostVeth[] {
  const prefix = aliasOwnerPrefix(network);
  return ipJson<LinkInfo>(["link", "show", "type", "veth"])
    .filter((l) => l.ifalias?.startsWith(prefix))
    .map((l) => ({ ifname: l.ifname, attachment: parseHostVethAlias(l.ifalias ?? "") }));
}
