/**
 * The BGP part of `podnet lab check` (a lab with the bgp backend): what the router's kernel and
 * its BIRD hold, what the nodes' kernels say about the path between segments, real connections
 * between pods, the VM and the external host, and one node's agent stopped and started again.
 * Observations only; the verdicts come from bgp-claims.ts.
 */
import { readFileSync } from "node:fs";
import { errorText } from "../base/error-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { sameIP, tryParseIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import { parseBirdRoutes } from "../linux/bird-status-parse.ts";
import { runSync, spawnDetached } from "../linux/exec.ts";
import { inNetns, netnsPids } from "../linux/netns.ts";
import {
  type BgpNodeView,
  type KernelRoute,
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
import type { PairProbe, Verdict } from "./claims.ts";
import { labelled } from "./claims.ts";
import { addressOf, familyLabel, type LabFamily, labFamilies } from "./lab-families.ts";
import { labRouterCommand } from "./lab-router.ts";
import { LAB_ROUTER_HOLD_TIME } from "./lab-router-bird.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { externalAddresses, nodeAddresses, saveLabState } from "./lab-state.ts";
import { updateLabState } from "./lab-state-lock.ts";
import type { PodView } from "./probe.ts";
import { ipOf, probeFrom } from "./probe.ts";

const bare = (cidr: string): string => cidr.split("/")[0] as string;
const familyOfPrefix = (cidr: string): LabFamily | undefined => tryParseIP(bare(cidr))?.family;

function sameBlock(text: string, canonical: string): boolean {
  try {
    return formatPrefix(parsePrefix(text)) === canonical;
  } catch {
    return false;
  }
}

/** Every route of family f in the router's kernel (main table). */
export function routerKernelRoutes(state: LabState, f: LabFamily): KernelRoute[] {
  const netns = state.router?.netns;
  if (!netns) throw new Error("the lab's router runs no BIRD (not a bgp lab)");
  const r = runSync(["ip", "-n", netns, "-j", `-${f}`, "route", "show"]);
  if (r.code !== 0) throw new Error(`ip route show in the router failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout || "[]") as KernelRoute[];
}

/** The node as claim 1 sees it in family f (undefined when it has no address of f). */
function nodeView(node: LabNode, f: LabFamily): BgpNodeView | undefined {
  const address = addressOf(nodeAddresses(node), f);
  if (!address) return undefined;
  return { name: node.name, ip: bare(address), blocks: node.podCidrs.filter((c) => familyOfPrefix(c) === f) };
}

/** Whether every one of `blocks` is a proto bird route in the router's kernel (via `via`, when given). */
export function routerHas(state: LabState, blocks: readonly string[], via?: string): boolean {
  const byFamily = new Map<LabFamily, KernelRoute[]>();
  return blocks.every((block) => {
    const f = familyOfPrefix(block) ?? 4;
    if (!byFamily.has(f)) byFamily.set(f, routerKernelRoutes(state, f));
    const want = formatPrefix(parsePrefix(block));
    return (byFamily.get(f) ?? []).some((r) => {
      if (r.protocol !== "bird" || !sameBlock(r.dst, want)) return false;
      const gateways = r.nexthops ? r.nexthops.flatMap((h) => h.gateway ?? []) : r.gateway ? [r.gateway] : [];
      return via === undefined || gateways.some((g) => sameIP(g, via));
    });
  });
}

/**
 * Waits until the router holds every node's blocks (lab up: the lab is ready when BGP has
 * converged); returns how long it took. Throws, naming what is missing, after `timeoutMs`.
 */
export async function waitRouterConverged(state: LabState, timeoutMs = 30_000): Promise<number> {
  const blocks = state.nodes.flatMap((n) => n.podCidrs);
  const { ms } = await pollUntil(
    "every node's block in the lab router's table",
    () => routerHas(state, blocks),
    timeoutMs,
    {
      intervalMs: 50,
      detail: () =>
        `router routes: ${JSON.stringify(labFamilies(state).flatMap((f) => routerKernelRoutes(state, f)))}`,
    },
  );
  return ms;
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

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The BIRDs running in a node's namespace. */
function birdsIn(netns: string): number[] {
  return netnsPids(netns).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "bird";
    } catch {
      return false;
    }
  });
}

/** How long until `check` holds, polled every 20 ms; undefined when it does not within `timeoutMs`. */
async function measure(check: () => boolean, timeoutMs: number): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (check()) return Math.round(performance.now() - started);
    await Bun.sleep(20);
  }
  return check() ? Math.round(performance.now() - started) : undefined;
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
    argv = readFileSync(`/proc/${node.agentPid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
  } catch (e) {
    return {
      ...base,
      presentBefore,
      goneMs: undefined,
      birdStopped: false,
      backMs: undefined,
      failure: `cannot read the agent's command line (pid ${node.agentPid}): ${errorText(e)}`,
    };
  }
  process.kill(node.agentPid, "SIGTERM");
  const goneMs = await measure(() => blocks.every((b) => !routerHas(state, [b])), hold * 1000 + 5000);
  await measure(() => !alive(node.agentPid), 15_000);
  const birdStopped = (await measure(() => birdsIn(node.netns).length === 0, 5000)) !== undefined;
  if (alive(node.agentPid)) process.kill(node.agentPid, "SIGKILL");
  const agentPid = spawnDetached(inNetns(node.netns, argv), `${state.dir}/logs/agent-${node.name}.log`);
  await updateLabState("lab check (agent restarted)", async (current) => {
    const i = current.nodes.findIndex((n) => n.name === node.name);
    if (i >= 0) current.nodes[i] = { ...(current.nodes[i] as LabNode), agentPid };
    saveLabState(current);
  });
  const backMs = await measure(() => routerHas(state, blocks), 30_000);
  return { ...base, presentBefore, goneMs, birdStopped, backMs };
}

/**
 * The BGP claims of a bgp lab, in order: the router's table (per family), the native path between
 * segments (per family), the VPC without NAT (per family), and — last, since it restarts an
 * agent — withdrawal and return of one node's blocks.
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
  if (state.nodes.length > 0)
    verdicts.push(
      await guard(WITHDRAWAL_CLAIM, async () => withdrawnAndRestored(await withdrawalObservation(state))),
    );
  return verdicts;
}
