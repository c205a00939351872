/**
 * The readiness part of `podnet lab check`: one pod's echo server (its readiness check's target)
 * is stopped; its record must turn ready:false and its address leave the demo Service's
 * endpoints in every node's nft map; connections to the ClusterIP from a pod and from every node
 * meanwhile must all be answered by other pods; then its echo server is started again exactly as
 * `lab up` started it, and it must come back on every node. The verdict is readiness-claims.ts's.
 */
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { TABLE_NAME } from "../proxy/nft-model.ts";
import { serviceEndpointsMap } from "../proxy/nft-names.ts";
import type { ProbeOutcome, Verdict } from "./claims.ts";
import { startEchoServer, stopEchoServer } from "./echo-process.ts";
import { checksEchoServer, describeDeclaration } from "./lab-readiness.ts";
import { podReadiness, podRef } from "./lab-ready.ts";
import { clusterIPv4, DEMO_SERVICE, SERVICE_PORT, showService } from "./lab-services.ts";
import type { LabPod, LabState } from "./lab-state.ts";
import { ECHO_PORT, saveLabState } from "./lab-state.ts";
import { updateLabState } from "./lab-state-lock.ts";
import type { PodView } from "./probe.ts";
import { probeFrom } from "./probe.ts";
import type { ReadinessObservation, ReadinessPhase } from "./readiness-claims.ts";
import { READINESS_CLAIM, readinessFollowsServer } from "./readiness-claims.ts";

/** Checks run every second and one failure counts; then one sync of every agent's rules. */
const PHASE_LIMIT_MS = 15_000;
const PROBES_PER_CLIENT = 8;

/** Whether each node's map of TCP Service endpoints sends somewhere to ip:ECHO_PORT. */
async function nodesHolding(state: LabState, ip: string): Promise<Map<string, boolean>> {
  const element = new RegExp(`: ${ip.replaceAll(".", "\\.")} \\. ${ECHO_PORT}\\b`);
  const held = await Promise.all(
    state.nodes.map(async (n) => {
      const r = await run(
        inNetns(n.netns, ["nft", "list", "map", "ip", TABLE_NAME, serviceEndpointsMap("tcp")]),
        {
          timeoutMs: 10_000,
        },
      );
      if (r.code !== 0)
        throw new Error(`nft list map on ${n.name} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      return [n.name, element.test(r.stdout)] as const;
    }),
  );
  return new Map(held);
}

/**
 * Polls the pod's record and every node's map until the record says `ready` and the address is
 * in every map (`ready`) or in none (`!ready`); notes when each first held.
 */
async function watchPhase(state: LabState, pod: LabPod, ip: string, ready: boolean): Promise<ReadinessPhase> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let recordMs: number | undefined;
  let mapsMs: number | undefined;
  let lagging: string[] = state.nodes.map((n) => n.name);
  while (elapsed() < PHASE_LIMIT_MS) {
    const [records, maps] = await Promise.all([podReadiness(state), nodesHolding(state, ip)]);
    if (recordMs === undefined && records.get(podRef(pod)) === ready) recordMs = elapsed();
    lagging = [...maps].filter(([, holds]) => holds !== ready).map(([node]) => node);
    if (mapsMs === undefined && lagging.length === 0) mapsMs = elapsed();
    if (recordMs !== undefined && mapsMs !== undefined) break;
    await Bun.sleep(100);
  }
  return { recordMs, mapsMs, lagging, limitMs: PHASE_LIMIT_MS };
}

async function repeat(times: number, probe: () => Promise<ProbeOutcome>): Promise<ProbeOutcome[]> {
  const out: ProbeOutcome[] = [];
  for (let i = 0; i < times; i++) out.push(await probe());
  return out;
}

/** Starts the pod's echo server again and records its new pid in the lab's state. */
async function restartEchoServer(state: LabState, pod: LabPod): Promise<void> {
  const echoPid = await startEchoServer(state, pod.name, pod.netns);
  await updateLabState("lab check (echo server restarted)", async (current) => {
    const i = current.pods.findIndex((p) => p.name === pod.name);
    if (i >= 0) current.pods[i] = { ...(current.pods[i] as LabPod), echoPid };
    saveLabState(current);
  });
}

export async function readinessCheck(state: LabState, views: readonly PodView[]): Promise<Verdict> {
  const ready = await podReadiness(state);
  const ipOf = (p: LabPod) => views.find((v) => v.name === p.name)?.ipv4;
  // The last ready pod whose check connects to its echo server; a client pod on another node.
  const victim = state.pods
    .filter((p) => checksEchoServer(p.readiness) && ready.get(podRef(p)) && ipOf(p))
    .at(-1);
  if (!victim)
    return {
      ok: false,
      claim: READINESS_CLAIM,
      evidence: `no ready pod whose check (tcp ${ECHO_PORT}) could be stopped`,
    };
  const ip = ipOf(victim) as string;
  const clientPod =
    views.find((v) => v.ipv4 && v.node !== victim.node) ??
    views.find((v) => v.ipv4 && v.name !== victim.name);
  if (!clientPod)
    return { ok: false, claim: READINESS_CLAIM, evidence: "no other pod to send connections from" };
  const clusterIP = clusterIPv4(await showService(state, DEMO_SERVICE));
  const tcp = (netns: string) => () => probeFrom(state, netns, clusterIP, { port: SERVICE_PORT });

  await stopEchoServer(victim.echoPid, victim.name);
  let restarted = false;
  try {
    const stopped = await watchPhase(state, victim, ip, false);
    const probes = [
      { client: clientPod.name, outcomes: await repeat(PROBES_PER_CLIENT, tcp(clientPod.netns)) },
    ];
    for (const n of state.nodes)
      probes.push({ client: n.name, outcomes: await repeat(PROBES_PER_CLIENT, tcp(n.netns)) });
    await restartEchoServer(state, victim);
    restarted = true;
    const started = await watchPhase(state, victim, ip, true);
    const observation: ReadinessObservation = {
      pod: victim.name,
      ip,
      check: describeDeclaration(victim.readiness),
      nodes: state.nodes.length,
      stopped,
      probes,
      started,
    };
    return readinessFollowsServer(observation);
  } finally {
    if (!restarted) await restartEchoServer(state, victim).catch(() => {});
  }
}
