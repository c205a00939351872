/**
 * `podnet lab check`: proves the IP-per-pod claims with real packets between the lab's pods.
 * Observations are gathered here; the verdicts come from claims.ts.
 */

import { VXLAN_DEV } from "../agent/vxlan-device.ts";
import type { LinkAddrs } from "../linux/ip.ts";
import { ipJson, netnsAt } from "../linux/ip.ts";
import { netnsPath } from "../linux/netns.ts";
import type { PairProbe, Verdict } from "./claims.ts";
import { reachWithoutNat, sharedLocalhost, uniquePodIps } from "./claims.ts";
import { dnsChecks } from "./dns-check.ts";
import type { LabState } from "./lab-state.ts";
import { nodeIpChangeRecovers } from "./node-ip-change.ts";
import { pluginCheckAll } from "./plugin-check.ts";
import { inspectPodInterface } from "./pod-inspect.ts";
import type { PodView } from "./probe.ts";
import { probeFrom } from "./probe.ts";
import { readinessCheck } from "./readiness-check.ts";
import { serviceChecks } from "./service-check.ts";

/** Every address the namespace holds (a node may answer from any of them). */
function addressesIn(netns: string): string[] {
  return ipJson<LinkAddrs>(["addr", "show"], netnsAt(netnsPath(netns))).flatMap((l) =>
    l.addr_info.filter((a) => a.scope === "global").map((a) => a.local),
  );
}

/** How a node sends to an address: through the VXLAN device or directly. */
function pathFrom(nodeNs: string, dst: string): string {
  try {
    const [route] = ipJson<{ dev?: string }>(["route", "get", dst], netnsAt(netnsPath(nodeNs)));
    return route?.dev === VXLAN_DEV ? "vxlan" : "direct";
  } catch {
    return "no route";
  }
}

async function pairProbes(
  state: LabState,
  views: readonly PodView[],
  keep: (a: PodView, b: PodView) => boolean,
): Promise<PairProbe[]> {
  const probes: PairProbe[] = [];
  for (const a of views) {
    for (const b of views) {
      if (a === b || !a.ipv4 || !b.ipv4 || !keep(a, b)) continue;
      const nodeNs = state.nodes.find((n) => n.name === a.node)?.netns;
      const path =
        a.node === b.node ? "bridge" : `${a.node}→${b.node} ${nodeNs ? pathFrom(nodeNs, b.ipv4) : "?"}`;
      probes.push({
        from: a.name,
        fromIps: [a.ipv4],
        to: b.name,
        toIp: b.ipv4,
        outcome: await probeFrom(state, a.netns, b.ipv4),
        path,
      });
    }
  }
  return probes;
}

export async function labCheck(state: LabState): Promise<Verdict[]> {
  const observed = state.pods.map((p) => ({ pod: p, itf: inspectPodInterface(p.netns, p.ifname) }));
  const views: PodView[] = observed.map(({ pod, itf }) => ({
    name: pod.name,
    node: pod.node,
    netns: pod.netns,
    ipv4: itf?.ipv4[0],
  }));
  const verdicts: Verdict[] = [];
  verdicts.push(
    uniquePodIps(
      observed.map(({ pod, itf }) => ({
        pod: pod.name,
        ips: itf ? [...itf.ipv4, ...itf.ipv6] : [],
        nodeCidrs: state.nodes.find((n) => n.name === pod.node)?.podCidrs ?? [],
      })),
    ),
  );

  const first = views[0];
  if (first) verdicts.push(sharedLocalhost(first.name, await probeFrom(state, first.netns, "127.0.0.1")));

  verdicts.push(
    reachWithoutNat(
      "pods on one node reach each other directly and see each other's real pod IP (no NAT)",
      await pairProbes(state, views, (a, b) => a.node === b.node),
    ),
  );
  if (state.nodes.length > 1) {
    verdicts.push(
      reachWithoutNat(
        "pods on different nodes reach each other and the receiver sees the sender's pod IP (no NAT)",
        await pairProbes(state, views, (a, b) => a.node !== b.node),
      ),
    );
  }

  const nodeProbes: PairProbe[] = [];
  for (const node of state.nodes) {
    const own = addressesIn(node.netns);
    for (const v of views.filter((p) => p.ipv4)) {
      const to = v.ipv4 as string;
      nodeProbes.push({
        from: node.name,
        fromIps: own,
        to: v.name,
        toIp: to,
        outcome: await probeFrom(state, node.netns, to),
      });
    }
  }
  verdicts.push(reachWithoutNat("every node reaches every pod", nodeProbes));
  verdicts.push(await pluginCheckAll(state));
  verdicts.push(...(await serviceChecks(state, views)));
  verdicts.push(await readinessCheck(state, views));
  verdicts.push(...(await dnsChecks(state)));
  if (state.nodes.length > 1) verdicts.push(await nodeIpChangeRecovers(state, views));
  return verdicts;
}
