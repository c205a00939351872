/**
 * `podnet lab check`: proves the IP-per-pod claims with real packets between the lab's pods.
 * Observations are gathered here; the verdicts come from claims.ts.
 */

import { VXLAN_DEV } from "../agent/vxlan-device.ts";
import type { LinkAddrs } from "../linux/ip.ts";
import { ipJson, netnsAt } from "../linux/ip.ts";
import { netnsPath } from "../linux/netns.ts";
import { bgpChecks } from "./bgp-check.ts";
import type { PairProbe, Verdict } from "./claims.ts";
import { labelled, reachWithoutNat, sharedLocalhost, uniquePodIps } from "./claims.ts";
import { dnsChecks } from "./dns-check.ts";
import { familyLabel, type LabFamily, labFamilies } from "./lab-families.ts";
import type { LabState } from "./lab-state.ts";
import { nodeIpChangeRecovers } from "./node-ip-change.ts";
import { pluginCheckAll } from "./plugin-check.ts";
import { inspectPodInterface } from "./pod-inspect.ts";
import type { PodView } from "./probe.ts";
import { ipOf, probeFrom } from "./probe.ts";
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
  f: LabFamily,
  keep: (a: PodView, b: PodView) => boolean,
): Promise<PairProbe[]> {
  const probes: PairProbe[] = [];
  for (const a of views) {
    const from = ipOf(a, f);
    for (const b of views) {
      const to = ipOf(b, f);
      if (a === b || !from || !to || !keep(a, b)) continue;
      const nodeNs = state.nodes.find((n) => n.name === a.node)?.netns;
      const path =
        a.node === b.node ? "bridge" : `${a.node}→${b.node} ${nodeNs ? pathFrom(nodeNs, to) : "?"}`;
      probes.push({
        from: a.name,
        fromIps: [from],
        to: b.name,
        toIp: to,
        outcome: await probeFrom(state, a.netns, to),
        path,
      });
    }
  }
  return probes;
}

/** The claims of one family: pod↔pod on one node and across nodes, node→pod (labelled in a dual lab). */
async function reachChecks(state: LabState, views: readonly PodView[], f: LabFamily): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  verdicts.push(
    reachWithoutNat(
      "pods on one node reach each other directly and see each other's real pod IP (no NAT)",
      await pairProbes(state, views, f, (a, b) => a.node === b.node),
    ),
  );
  if (state.nodes.length > 1) {
    verdicts.push(
      reachWithoutNat(
        "pods on different nodes reach each other and the receiver sees the sender's pod IP (no NAT)",
        await pairProbes(state, views, f, (a, b) => a.node !== b.node),
      ),
    );
  }
  const nodeProbes: PairProbe[] = [];
  for (const node of state.nodes) {
    const own = addressesIn(node.netns);
    for (const v of views) {
      const to = ipOf(v, f);
      if (!to) continue;
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
  return verdicts;
}

/**
 * Every claim once; those about one address family once per family, their claim suffixed
 * " [IPv4]" / " [IPv6]" in a dual lab (familyLabel). A dual 3-node lab proves 35, a
 * single-family one 22; with the bgp backend, 3 more per family (the router's table, the native
 * path between segments, the VPC without NAT) and the withdrawal: 42 and 26.
 */
export async function labCheck(state: LabState): Promise<Verdict[]> {
  const families = labFamilies(state);
  const primary = families[0] ?? 4;
  const observed = state.pods.map((p) => ({ pod: p, itf: inspectPodInterface(p.netns, p.ifname) }));
  const views: PodView[] = observed.map(({ pod, itf }) => ({
    name: pod.name,
    node: pod.node,
    netns: pod.netns,
    ips: { 4: itf?.ipv4[0], 6: itf?.ipv6[0] },
  }));
  const verdicts: Verdict[] = [];
  verdicts.push(
    uniquePodIps(
      observed.map(({ pod, itf }) => ({
        pod: pod.name,
        ips: itf ? [...itf.ipv4, ...itf.ipv6] : [],
        nodeCidrs: state.nodes.find((n) => n.name === pod.node)?.podCidrs ?? [],
      })),
      families,
    ),
  );

  const first = views[0];
  // An IPv6-only lab probes ::1: the echo server listens on "::", both loopbacks reach it.
  const loopback = primary === 6 ? "::1" : "127.0.0.1";
  if (first) verdicts.push(sharedLocalhost(first.name, await probeFrom(state, first.netns, loopback)));

  for (const f of families) {
    const label = familyLabel(state, f);
    verdicts.push(...(await reachChecks(state, views, f)).map((v) => labelled(v, label)));
  }
  verdicts.push(await pluginCheckAll(state));
  for (const f of families) {
    const label = familyLabel(state, f);
    verdicts.push(...(await serviceChecks(state, views, f)).map((v) => labelled(v, label)));
  }
  verdicts.push(...(await readinessCheck(state, views)));
  verdicts.push(...(await dnsChecks(state)));
  const bgp = state.router !== undefined;
  // The BGP claims before the node IP change, the withdrawal (an agent restarted) last of them.
  if (bgp) verdicts.push(...(await bgpChecks(state, views)));
  if (state.nodes.length > 1) {
    for (const f of families)
      verdicts.push(labelled(await nodeIpChangeRecovers(state, views, f), familyLabel(state, f)));
  }
  return verdicts;
}
