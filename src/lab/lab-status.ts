/** `podnet lab status`: one row per pod, read from the kernel. */

import type { LabState } from "./lab-state.ts";
import { inspectPodInterface } from "./pod-inspect.ts";

export interface StatusRow {
  readonly node: string;
  readonly pod: string;
  readonly ip: string;
  readonly mac: string;
  readonly iface: string;
  readonly netns: string;
}

export function labStatusRows(state: LabState): StatusRow[] {
  return state.pods.map((p) => {
    const itf = inspectPodInterface(p.netns, p.ifname);
    return {
      node: p.node,
      pod: p.name,
      ip: itf ? [...itf.ipv4, ...itf.ipv6].join(",") || "-" : "(missing)",
      mac: itf?.mac ?? "-",
      iface: p.ifname,
      netns: p.netns,
    };
  });
}
