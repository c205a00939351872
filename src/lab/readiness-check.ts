/**
 * The readiness part of `podnet lab check`: one pod's echo server (its readiness check's target)
 * is stopped; its record must turn ready:false and its address leave the demo Service's
 * endpoints in every node's nft map; connections to the ClusterIP from a pod and from every node
 * meanwhile must all be answered by other pods; then its echo server is started again exactly as
 * `lab up` started it, and it must come back on every node. The verdict is readiness-claims.ts's.
 * In a dual lab one stop/start cycle is watched in both families (both of the pod's addresses,
 * both ClusterIPs), giving one verdict per family without doubling the wait.
 */
import { canonicalIP } from "../ipnet/address.ts";
import { serviceEndpointsMap } from "../proxy/nft-names.ts";
import { labelled, type ProbeOutcome, type Verdict } from "./claims.ts";
import { startEchoServer, stopEchoServer } from "./echo-process.ts";
import { familyLabel, type LabFamily, labFamilies } from "./lab-families.ts";
import { checksEchoServer, describeDeclaration } from "./lab-readiness.ts";
import { podReadiness, podRef } from "./lab-ready.ts";
import { clusterIPOf, DEMO_SERVICE, SERVICE_PORT, showService } from "./lab-services.ts";
import type { LabPod, LabState } from "./lab-state.ts";
import { ECHO_PORT, saveLabState } from "./lab-state.ts";
import { updateLabState } from "./lab-state-lock.ts";
import type { PodView } from "./probe.ts";
import { ipOf, probeFrom } from "./probe.ts";
import { listProxyMap } from "./proxy-map.ts";
import type { ReadinessObservation, ReadinessPhase } from "./readiness-claims.ts";
import { READINESS_CLAIM, readinessFollowsServer } from "./readiness-claims.ts";

/** Checks run every second and one failure counts; then one sync of every agent's rules. */
const PHASE_LIMIT_MS = 15_000;
const PROBES_PER_CLIENT = 8;

/** Whether each node's map of TCP Service endpoints (family f's live table) sends somewhere to ip:ECHO_PORT. */
async function nodesHolding(state: LabState, ip: string, f: LabFamily): Promise<Map<string, boolean>> {
  const element = new RegExp(`: ${(canonicalIP(ip) ?? ip).replaceAll(".", "\\.")} \\. ${ECHO_PORT}\\b`);
  const held = await Promise.all(
    state.nodes.map(async (n) => {
      const r = await listProxyMap(n.netns, f, serviceEndpointsMap("tcp"));
      if (r.code !== 0)
        throw new Error(`nft list map on ${n.name} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      return [n.name, element.test(r.stdout)] as const;
    }),
  );
  return new Map(held);
}

/** One of the victim's addresses and the family whose table must drop and regain it. */
interface Watched {
  readonly f: LabFamily;
  readonly ip: string;
}

/**
 * Polls the pod's record and every node's maps until the record says `ready` and each address
 * is in every map of its family (`ready`) or in none (`!ready`); notes when each first held,
 * per family (the record's time is shared).
 */
async function watchPhase(
  state: LabState,
  pod: LabPod,
  watched: readonly Watched[],
  ready: boolean,
): Promise<Map<LabFamily, ReadinessPhase>> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let recordMs: number | undefined;
  const mapsMs = new Map<LabFamily, number>();
  const lagging = new Map<LabFamily, string[]>(watched.map((w) => [w.f, state.nodes.map((n) => n.name)]));
  while (elapsed() < PHASE_LIMIT_MS) {
    const [records, ...maps] = await Promise.all([
      podReadiness(state),
      ...watched.map((w) => nodesHolding(state, w.ip, w.f)),
    ]);
    if (recordMs === undefined && records.get(podRef(pod)) === ready) recordMs = elapsed();
    watched.forEach((w, i) => {
      const still = [...(maps[i] ?? [])].filter(([, holds]) => holds !== ready).map(([node]) => node);
      lagging.set(w.f, still);
      if (!mapsMs.has(w.f) && still.length === 0) mapsMs.set(w.f, elapsed());
    });
    if (recordMs !== undefined && mapsMs.size === watched.length) break;
    await Bun.sleep(100);
  }
  return new Map(
    watched.map((w) => [
      w.f,
      { recordMs, mapsMs: mapsMs.get(w.f), lagging: lagging.get(w.f) ?? [], limitMs: PHASE_LIMIT_MS },
    ]),
  );
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

/** One verdict per lab family (labelled in a dual lab), all from one stop/start of one pod. */
export async function readinessCheck(state: LabState, views: readonly PodView[]): Promise<Verdict[]> {
  const families = labFamilies(state);
  const each = (evidence: string): Verdict[] =>
    families.map((f) => labelled({ ok: false, claim: READINESS_CLAIM, evidence }, familyLabel(state, f)));
  const ready = await podReadiness(state);
  const viewOf = (name: string) => views.find((v) => v.name === name);
  const inAll = (v: PodView | undefined) => v !== undefined && families.every((f) => ipOf(v, f));
  // The last ready pod whose check connects to its echo server; a client pod on another node.
  const victim = state.pods
    .filter((p) => checksEchoServer(p.readiness) && ready.get(podRef(p)) && inAll(viewOf(p.name)))
    .at(-1);
  if (!victim) return each(`no ready pod whose check (tcp ${ECHO_PORT}) could be stopped`);
  const victimView = viewOf(victim.name) as PodView;
  const watched: Watched[] = families.map((f) => ({ f, ip: ipOf(victimView, f) as string }));
  const clientPod =
    views.find((v) => inAll(v) && v.node !== victim.node) ??
    views.find((v) => inAll(v) && v.name !== victim.name);
  if (!clientPod) return each("no other pod to send connections from");
  const echo = await showService(state, DEMO_SERVICE);
  const clusterIPs = new Map(families.map((f) => [f, clusterIPOf(echo, f)]));
  const tcp = (netns: string, f: LabFamily) => () =>
    probeFrom(state, netns, clusterIPs.get(f) as string, { port: SERVICE_PORT });

  await stopEchoServer(victim.echoPid, victim.name);
  let restarted = false;
  try {
    const stopped = await watchPhase(state, victim, watched, false);
    const probes = new Map<LabFamily, ReadinessObservation["probes"]>();
    for (const f of families) {
      const list = [
        { client: clientPod.name, outcomes: await repeat(PROBES_PER_CLIENT, tcp(clientPod.netns, f)) },
      ];
      for (const n of state.nodes)
        list.push({ client: n.name, outcomes: await repeat(PROBES_PER_CLIENT, tcp(n.netns, f)) });
      probes.set(f, list);
    }
    await restartEchoServer(state, victim);
    restarted = true;
    const started = await watchPhase(state, victim, watched, true);
    return watched.map(({ f, ip }) => {
      const observation: ReadinessObservation = {
        pod: victim.name,
        ip,
        check: describeDeclaration(victim.readiness),
        nodes: state.nodes.length,
        stopped: stopped.get(f) as ReadinessPhase,
        probes: probes.get(f) ?? [],
        started: started.get(f),
      };
      return labelled(readinessFollowsServer(observation), familyLabel(state, f));
    });
  } finally {
    if (!restarted) await restartEchoServer(state, victim).catch(() => {});
  }
}
