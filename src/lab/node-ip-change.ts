/**
 * The node-IP-change claim: one node's underlay address is replaced (removed, another added, as
 * when a DHCP lease moves); its agent must notice and re-announce it, the other nodes must re-point
 * their routes, and cross-node traffic to its pods must recover — with no restart. The original
 * address is put back afterwards, and traffic must recover again. Proved per family: the address
 * moved is the one of the underlay that carries that family's pod traffic (the same family with
 * direct routes or a tunnel over it; IPv4 for IPv6 pods over a dual lab's VXLAN device). With BGP
 * the lab router's route to the node's block must follow as well (within the hold time, when the
 * old session ends).
 */

import { VXLAN_DEV } from "../agent/vxlan-device.ts";
import { errorText } from "../base/error-text.ts";
import { sameIP } from "../ipnet/address.ts";
import { mustRunSync, runSync } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { routerHas } from "./bgp-check.ts";
import type { Verdict } from "./claims.ts";
import { addressOf, type LabFamily } from "./lab-families.ts";
import { LAB_ROUTER_HOLD_TIME } from "./lab-router-bird.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { nodeAddresses } from "./lab-state.ts";
import {
  carrierFamily,
  type IpStep,
  moveSteps,
  planAddressMove,
  restoreSteps,
  underlayHops,
} from "./node-ip-move.ts";
import type { PodView } from "./probe.ts";
import { ipOf, probeFrom } from "./probe.ts";

const RECOVERY_TIMEOUT_MS = 15_000;

/** The router's address of family f on the node's segment. */
function gatewayOf(node: LabNode, f: LabFamily): string {
  const gw = addressOf(node.gateways ?? [node.gateway], f);
  if (!gw) throw new Error(`node ${node.name} has no IPv${f} gateway in the lab state`);
  return gw;
}

/** Runs the steps in order; a step that must not fail throws, naming its command. */
function runSteps(steps: readonly IpStep[]): void {
  for (const step of steps) {
    if (step.mayFail) runSync([...step.argv]);
    else mustRunSync([...step.argv]);
  }
}

/** Where the sending pod's node sends traffic for `dst` now (underlayHops over the kernel's answers). */
function underlayHopFrom(nodeNs: string, dst: string): string[] {
  const r = runSync(["ip", "-n", nodeNs, "-j", "route", "get", dst]);
  if (r.code !== 0) return [];
  return underlayHops(r.stdout, () => {
    const fdb = runSync(inNetns(nodeNs, ["bridge", "-j", "fdb", "show", "dev", VXLAN_DEV]));
    return fdb.code === 0 ? fdb.stdout : undefined;
  });
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
  f: LabFamily,
  newIp: string,
): Promise<{ ok: boolean; ms: number; last: string }> {
  const started = Date.now();
  const fromNode = state.nodes.find((n) => n.name === from.node) as LabNode;
  const toNode = state.nodes.find((n) => n.name === to.node) as LabNode;
  // With BGP the router's route must follow too: the node's new session announces its blocks
  // from the new address, the old session's routes go when its hold timer fires.
  const routerBlocks = state.router ? toNode.podCidrs.filter((c) => c.includes(":") === (f === 6)) : [];
  const timeout = RECOVERY_TIMEOUT_MS + (state.router ? LAB_ROUTER_HOLD_TIME * 1000 : 0);
  let last = "";
  while (Date.now() - started < timeout) {
    const hops = underlayHopFrom(fromNode.netns, ipOf(to, f) as string);
    if (routerBlocks.length > 0 && !routerHas(state, routerBlocks, newIp)) {
      last = `the router does not route ${routerBlocks.join(",")} via ${newIp}`;
    } else if (!hops.some((h) => sameIP(h, newIp))) {
      last = `${fromNode.name} still sends ${to.node}'s block to ${hops.join(",") || "nothing"}`;
    } else {
      const outcome = await probeFrom(state, from.netns, ipOf(to, f) as string);
      if (
        outcome.kind === "reply" &&
        outcome.probe.reply.pod === to.name &&
        sameIP(outcome.probe.reply.from, ipOf(from, f) as string)
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

/** The claim for family f's pods (the caller labels it in a dual lab). */
export async function nodeIpChangeRecovers(
  state: LabState,
  views: readonly PodView[],
  f: LabFamily = 4,
): Promise<Verdict> {
  try {
    return await moveAndProbe(state, views, f);
  } catch (e) {
    return { ok: false, claim: CLAIM, evidence: errorText(e) };
  }
}

const CLAIM = "after a node's IP changes, cross-node traffic to its pods recovers without a restart";

async function moveAndProbe(state: LabState, views: readonly PodView[], f: LabFamily): Promise<Verdict> {
  const claim = CLAIM;
  // The second node shares a segment with the first, so the change exercises direct routes
  // (the sender below is on the first node).
  const target = state.nodes[1] as LabNode;
  const fromNode = state.nodes[0] as LabNode;
  const to = views.find((v) => v.node === target.name && ipOf(v, f));
  const from = views.find((v) => v.node === fromNode.name && ipOf(v, f));
  if (!to || !from) return { ok: false, claim, evidence: `no IPv${f} pods on two different nodes to probe` };
  const carrier = carrierFamily(underlayHopFrom(fromNode.netns, ipOf(to, f) as string), f);
  const move = planAddressMove(nodeAddresses(target), carrier);
  if (!move) return { ok: false, claim, evidence: `${target.name} has no IPv${carrier} address to move` };
  const ip = move.original.split("/")[0] as string;
  const moved = move.moved;
  const gateway = gatewayOf(target, carrier);
  const restore = () => runSteps(restoreSteps(target.netns, move, gateway));
  let away: Awaited<ReturnType<typeof recovers>>;
  try {
    // Inside the try: a move that fails part-way still gets the original address back.
    runSteps(moveSteps(target.netns, move, gateway));
    away = await recovers(state, from, to, f, moved.split("/")[0] as string);
  } catch (e) {
    try {
      restore();
    } catch (r) {
      throw new Error(
        `${errorText(e)}; putting ${move.original} back on ${target.name} failed too: ${errorText(r)}`,
      );
    }
    throw e;
  }
  restore();
  const back = await recovers(state, from, to, f, ip);
  const ok = away.ok && back.ok;
  const via = carrier === f ? "" : ` (the IPv${carrier} underlay carries the IPv${f} pods' tunnel)`;
  return {
    ok,
    claim,
    evidence: ok
      ? `${target.name} moved ${ip} → ${moved.split("/")[0]}${via}: ${state.router ? "the router's route followed and " : ""}${from.name} → ${to.name} recovered in ${away.ms} ms, and in ${back.ms} ms after moving back`
      : `${target.name} moved to ${moved}${via}: ${away.ok ? `recovered in ${away.ms} ms` : `no recovery in ${away.ms} ms (${away.last})`}; moved back: ${back.ok ? `recovered in ${back.ms} ms` : `no recovery (${back.last})`}`,
  };
}
