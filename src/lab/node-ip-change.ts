/**
 * The node-IP-change claim: one node's underlay address is replaced (removed, another added, as
 * when a DHCP lease moves); its agent must notice and re-announce it, the other nodes must re-point
 * their routes, and cross-node traffic to its pods must recover — with no restart. The original
 * address is put back afterwards, and traffic must recover again.
 */

import { VXLAN_DEV } from "../agent/vxlan-device.ts";
import { addToIP, formatIP, parseIP } from "../ipnet/address.ts";
import { mustRunSync, runSync } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { Verdict } from "./claims.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import type { PodView } from "./probe.ts";
import { probeFrom } from "./probe.ts";

const RECOVERY_TIMEOUT_MS = 15_000;

function setAddress(node: LabNode, remove: string, add: string): void {
  // Old one out first: removing a primary address also removes secondaries of its subnet.
  mustRunSync(["ip", "-n", node.netns, "addr", "del", remove, "dev", "eth0"]);
  mustRunSync(["ip", "-n", node.netns, "addr", "add", add, "dev", "eth0"]);
  // The default route leaves with the old address; the router is still the gateway.
  mustRunSync(["ip", "-n", node.netns, "route", "replace", "default", "via", node.gateway]);
}

/**
 * Where the sending pod's node sends traffic for `dst` now: the next hop of a direct route, or,
 * through the VXLAN device, the underlay address its FDB holds for the tunnel.
 */
function underlayHopFrom(nodeNs: string, dst: string): string[] {
  const r = runSync(["ip", "-n", nodeNs, "-j", "route", "get", dst]);
  if (r.code !== 0) return [];
  const route = (JSON.parse(r.stdout) as { gateway?: string; dev?: string }[])[0];
  if (route?.dev !== VXLAN_DEV) return route?.gateway ? [route.gateway] : [];
  const fdb = runSync(inNetns(nodeNs, ["bridge", "-j", "fdb", "show", "dev", VXLAN_DEV]));
  if (fdb.code !== 0) return [];
  return (JSON.parse(fdb.stdout) as { dst?: string }[]).flatMap((f) => (f.dst ? [f.dst] : []));
}

/**
 * Recovered means both: the sender's node routes to the moved node's new IP (the re-announced
 * address reached the peers), and a new connection gets through with the pod IP intact. The
 * route matters: a stale ARP entry can carry packets to the right MAC for a while without it.
 */
async function recovers(
  state: LabState,
  from: PodView,
  to: PodView,
  newIp: string,
): Promise<{ ok: boolean; ms: number; last: string }> {
  const started = Date.now();
  const fromNode = state.nodes.find((n) => n.name === from.node) as LabNode;
  let last = "";
  while (Date.now() - started < RECOVERY_TIMEOUT_MS) {
    const hops = underlayHopFrom(fromNode.netns, to.ipv4 as string);
    if (!hops.includes(newIp)) {
      last = `${fromNode.name} still sends ${to.node}'s block to ${hops.join(",") || "nothing"}`;
    } else {
      const outcome = await probeFrom(state, from.netns, to.ipv4 as string);
      if (
        outcome.kind === "reply" &&
        outcome.probe.reply.pod === to.name &&
        outcome.probe.reply.from === from.ipv4
      ) {
        return { ok: true, ms: Date.now() - started, last: "" };
      }
      last =
        outcome.kind === "error"
          ? outcome.message
          : `answered by ${outcome.probe.reply.pod} from ${outcome.probe.reply.from}`;
    }
    await Bun.sleep(100);
  }
  return { ok: false, ms: Date.now() - started, last };
}

export async function nodeIpChangeRecovers(state: LabState, views: readonly PodView[]): Promise<Verdict> {
  try {
    return await moveAndProbe(state, views);
  } catch (e) {
    return { ok: false, claim: CLAIM, evidence: (e as Error).message };
  }
}

const CLAIM = "after a node's IP changes, cross-node traffic to its pods recovers without a restart";

async function moveAndProbe(state: LabState, views: readonly PodView[]): Promise<Verdict> {
  const claim = CLAIM;
  // The second node shares a segment with the first, so the change exercises direct routes
  // (the sender below is on the first node).
  const target = state.nodes[1] as LabNode;
  const to = views.find((v) => v.node === target.name && v.ipv4);
  const from = views.find((v) => v.node === state.nodes[0]?.name && v.ipv4);
  if (!to || !from) return { ok: false, claim, evidence: "no pods on two different nodes to probe" };
  const [ip, len] = target.address.split("/") as [string, string];
  const moved = `${formatIP(addToIP(parseIP(ip), 40n))}/${len}`;
  setAddress(target, target.address, moved);
  let away: Awaited<ReturnType<typeof recovers>>;
  try {
    away = await recovers(state, from, to, moved.split("/")[0] as string);
  } finally {
    setAddress(target, moved, target.address);
  }
  const back = await recovers(state, from, to, ip);
  const ok = away.ok && back.ok;
  return {
    ok,
    claim,
    evidence: ok
      ? `${target.name} moved ${ip} → ${moved.split("/")[0]}: ${from.name} → ${to.name} recovered in ${away.ms} ms, and in ${back.ms} ms after moving back`
      : `${target.name} moved to ${moved}: ${away.ok ? `recovered in ${away.ms} ms` : `no recovery in ${RECOVERY_TIMEOUT_MS} ms (${away.last})`}; moved back: ${back.ok ? `recovered in ${back.ms} ms` : `no recovery (${back.last})`}`,
  };
}
