/**
 * The BGP part of `podnet lab check` (a lab with the bgp backend): what the router's kernel and
 * its BIRD hold, what the nodes' kernels say about the path between segments, real connections
 * between pods, the VM and the external host; then changes on the running cluster
 * (bgp-restart-check.ts: a peering change, an agent restart with graceful restart;
 * bgp-death-check.ts: a node frozen) and one node's agent stopped and started again.
 * Observations only; the verdicts come from bgp-claims.ts and bgp-restart-claims.ts.
 */
import { errorText } from "../base/error-text.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { tryParseIP } from "../ipnet/address.ts";
import { parseBirdRoutes } from "../linux/bird-status-parse.ts";
import { runSync } from "../linux/exec.ts";
import {
  type BgpNodeView,
  NATIVE_PATH_CLAIM,
  NATIVE_PATH_ONE_SEGMENT_CLAIM,
  type NodePathFact,
  nativeCrossSegment,
  ROUTER_TABLE_CLAIM,
  routerHoldsBlocks,
  VPC_CLAIM,
  vpcWithoutNat,
  WITHDRAWAL_CLAIM,
  type WithdrawalObservation,
  withdrawnAndRestored,
} from "./bgp-claims.ts";
import { nodeDeathObservation } from "./bgp-death-check.ts";
import { agentArgv, alive, birdsIn, measure, startAgent } from "./bgp-lab-agents.ts";
import { gracefulRestartObservation, peeringChangeObservation } from "./bgp-restart-check.ts";
import {
  GRACEFUL_RESTART_CLAIM,
  NODE_DEATH_CLAIM,
  PEERING_CHANGE_CLAIM,
  peeringChangeApplied,
  reachableAcrossRestart,
  withdrawnByHoldTimer,
} from "./bgp-restart-claims.ts";
import { routerHas, routerKernelRoutes } from "./bgp-router-table.ts";
import type { PairProbe, Verdict } from "./claims.ts";
import { labelled } from "./claims.ts";
import { addressOf, familyLabel, type LabFamily, labFamilies } from "./lab-families.ts";
import { labRouterCommand } from "./lab-router.ts";
import { LAB_ROUTER_HOLD_TIME } from "./lab-router-bird.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { externalAddresses, nodeAddresses } from "./lab-state.ts";
import type { PodView } from "./probe.ts";
import { ipOf, probeFrom } from "./probe.ts";

const bare = (cidr: string): string => cidr.split("/")[0] as string;
const familyOfPrefix = (cidr: string): LabFamily | undefined => tryParseIP(bare(cidr))?.family;

/** The node as claim 1 sees it in family f (undefined when it has no address of f). */
function nodeView(node: LabNode, f: LabFamily): BgpNodeView | undefined {
  const address = addressOf(nodeAddresses(node), f);
  if (!address) return undefined;
  return { name: node.name, ip: bare(address), blocks: node.podCidrs.filter((c) => familyOfPrefix(c) === f) };
}

async function routerTableClaim(state: LabState, f: LabFamily): Promise<Verdict> {
  const nodes = state.nodes.flatMap((n) => nodeView(n, f) ?? []);
  const bird = parseBirdRoutes(await labRouterCommand(state.dir, "show route all")).filter(
    (r) => r.family === `ipv${f}`,
  );
  return routerHoldsBlocks(nodes, routerKernelRoutes(state, f), bird);
}

/** The VXLAN devices of a node (by name or by kind), from `ip -d link`. */
function vxlanDevices(node: LabNode): string[] {
  const r = runSync(["ip", "-n", node.netns, "-d", "-j", "link", "show"]);
  if (r.code !== 0) return [`(ip link failed: ${r.stderr.trim()})`];
  const links = JSON.parse(r.stdout || "[]") as { ifname: string; linkinfo?: { info_kind?: string } }[];
  return links
    .filter((l) => l.ifname.startsWith(VXLAN_DEV) || l.linkinfo?.info_kind === "vxlan")
    .map((l) => l.ifname);
}

function routeDev(node: LabNode, dst: string): string | undefined {
  const r = runSync(["ip", "-n", node.netns, "-j", "route", "get", dst]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev;
}

/**
 * Pods on different segments (through the router), or on different nodes when every node shares
 * one segment.
 */
async function nativePathClaim(state: LabState, views: readonly PodView[], f: LabFamily): Promise<Verdict> {
  const oneSegment = new Set(state.nodes.map((n) => n.segment)).size < 2;
  const segmentOf = (pod: PodView) =>
    oneSegment ? pod.node : state.nodes.find((n) => n.name === pod.node)?.segment;
  const facts: NodePathFact[] = state.nodes.map((node) => ({
    node: node.name,
    vxlanDevices: vxlanDevices(node),
    routes: views
      .filter((v) => segmentOf(v) !== (oneSegment ? node.name : node.segment) && ipOf(v, f))
      .map((v) => ({ dst: ipOf(v, f) as string, dev: routeDev(node, ipOf(v, f) as string) })),
  }));
  const probes: PairProbe[] = [];
  for (const a of views) {
    for (const b of views) {
      const from = ipOf(a, f);
      const to = ipOf(b, f);
      if (!from || !to || segmentOf(a) === segmentOf(b)) continue;
      probes.push({
        from: a.name,
        fromIps: [from],
        to: b.name,
        toIp: to,
        outcome: await probeFrom(state, a.netns, to),
        path: `${segmentOf(a)}→${segmentOf(b)} ${oneSegment ? "direct" : "routed"}`,
      });
    }
  }
  return nativeCrossSegment(
    facts,
    probes,
    "eth0",
    oneSegment ? NATIVE_PATH_ONE_SEGMENT_CLAIM : NATIVE_PATH_CLAIM,
  );
}

async function vpcClaim(state: LabState, views: readonly PodView[], f: LabFamily): Promise<Verdict> {
  const vm = state.vpcHost;
  const vmIp = vm ? addressOf(vm.addresses, f) : undefined;
  if (!vm || !vmIp) throw new Error(`the lab has no VM with an IPv${f} address`);
  const vmToPods: PairProbe[] = [];
  for (const v of views) {
    const to = ipOf(v, f);
    if (!to) continue;
    vmToPods.push({
      from: vm.name,
      fromIps: [bare(vmIp)],
      to: v.name,
      toIp: to,
      outcome: await probeFrom(state, vm.netns, to),
    });
  }
  // One pod per node to the VM: the node's masquerade must leave the VPC alone.
  const podsToVm: PairProbe[] = [];
  for (const node of state.nodes) {
    const pod = views.find((v) => v.node === node.name && ipOf(v, f));
    if (!pod) continue;
    podsToVm.push({
      from: pod.name,
      fromIps: [ipOf(pod, f) as string],
      to: vm.name,
      toIp: bare(vmIp),
      outcome: await probeFrom(state, pod.netns, bare(vmIp)),
    });
  }
  const pod = views.find((v) => ipOf(v, f));
  const externalIp = addressOf(externalAddresses(state), f);
  const podNode = state.nodes.find((n) => n.name === pod?.node);
  if (!pod || !externalIp || !podNode) throw new Error(`no IPv${f} pod or external address to probe`);
  const nodeIp = addressOf(nodeAddresses(podNode), f);
  return vpcWithoutNat(vmToPods, podsToVm, {
    pod: pod.name,
    nodeIps: nodeIp ? [bare(nodeIp)] : [],
    outcome: await probeFrom(state, pod.netns, bare(externalIp)),
  });
}

/**
 * Stops the last node's agent with SIGTERM (it stops its BIRD: withdraw at once), measures how
 * long its blocks stay in the router's table, then starts the agent again with the same command
 * line and measures until the blocks are back; the new pid goes into the lab's state.
 */
async function withdrawalObservation(state: LabState): Promise<WithdrawalObservation> {
  const node = state.nodes[state.nodes.length - 1] as LabNode;
  const blocks = node.podCidrs;
  const hold = LAB_ROUTER_HOLD_TIME;
  const base = { node: node.name, blocks, holdSeconds: hold };
  const presentBefore = routerHas(state, blocks);
  let argv: string[];
  try {
    argv = agentArgv(node);
  } catch (e) {
    const failure = errorText(e);
    return { ...base, presentBefore, goneMs: undefined, birdStopped: false, backMs: undefined, failure };
  }
  process.kill(node.agentPid, "SIGTERM");
  const goneMs = await measure(() => blocks.every((b) => !routerHas(state, [b])), hold * 1000 + 5000);
  await measure(() => !alive(node.agentPid), 15_000);
  const birdStopped = (await measure(() => birdsIn(node.netns).length === 0, 5000)) !== undefined;
  if (alive(node.agentPid)) process.kill(node.agentPid, "SIGKILL");
  await startAgent(state, node, argv);
  const backMs = await measure(() => routerHas(state, blocks), 30_000);
  return { ...base, presentBefore, goneMs, birdStopped, backMs };
}

export { routerHas, waitRouterConverged } from "./bgp-router-table.ts";

/**
 * The BGP claims of a bgp lab, in order: the router's table (per family), the native path between
 * segments (per family), the VPC without NAT (per family); then — since they change the cluster
 * and put it back — a peering change, graceful restart across an agent restart (two nodes or
 * more), a node's death by hold time, and last the withdrawal and return of one node's blocks.
 */
export async function bgpChecks(state: LabState, views: readonly PodView[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const guard = async (claim: string, f: () => Promise<Verdict>): Promise<Verdict> => {
    try {
      return await f();
    } catch (e) {
      return { ok: false, claim, evidence: errorText(e) };
    }
  };
  const families = labFamilies(state);
  for (const f of families) {
    const label = familyLabel(state, f);
    verdicts.push(labelled(await guard(ROUTER_TABLE_CLAIM, () => routerTableClaim(state, f)), label));
    if (state.nodes.length > 1)
      verdicts.push(labelled(await guard(NATIVE_PATH_CLAIM, () => nativePathClaim(state, views, f)), label));
    verdicts.push(labelled(await guard(VPC_CLAIM, () => vpcClaim(state, views, f)), label));
  }
  if (state.nodes.length > 0) {
    verdicts.push(
      await guard(PEERING_CHANGE_CLAIM, async () =>
        peeringChangeApplied(await peeringChangeObservation(state)),
      ),
    );
    if (state.nodes.length > 1)
      verdicts.push(
        await guard(GRACEFUL_RESTART_CLAIM, async () =>
          reachableAcrossRestart(await gracefulRestartObservation(state, views)),
        ),
      );
    verdicts.push(
      await guard(NODE_DEATH_CLAIM, async () => withdrawnByHoldTimer(await nodeDeathObservation(state))),
    );
    verdicts.push(
      await guard(WITHDRAWAL_CLAIM, async () => withdrawnAndRestored(await withdrawalObservation(state))),
    );
  }
  return verdicts;
}
