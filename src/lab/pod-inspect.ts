/** Reads a pod's addresses and MAC from the kernel (what is really configured, not what was planned). */
import type { LinkAddrs } from "../linux/ip.ts";
import { getLink, ipJson, netnsAt } from "../linux/ip.ts";
import { netnsPath } from "../linux/netns.ts";

export interface PodInterface {
  readonly ifname: string;
  readonly mac: string;
  readonly ipv4: string[];
  readonly ipv6: string[];
}

/** The pod's interface, or undefined when it is gone (which `status` and `check` report). */
export function inspectPodInterface(netns: string, ifname: string): PodInterface | undefined {
  const target = netnsAt(netnsPath(netns));
  if (!getLink(ifname, target)) return undefined;
  const [link] = ipJson<LinkAddrs>(["addr", "show", "dev", ifname], target);
  if (!link) return undefined;
  const global = link.addr_info.filter((a) => a.scope === "global");
  return {
    ifname,
    mac: link.address ?? "",
    ipv4: global.filter((a) => a.family === "inet").map((a) => a.local),
    ipv6: global.filter((a) => a.family === "inet6").map((a) => a.local),
  };
}
