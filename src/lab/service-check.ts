/**
 * The Service and egress part of `podnet lab check`: real connections to the demo Service, its
 * NodePort, a Service without endpoints, the external host; plus two short-lived Services of its
 * own (one pod reaching itself, one UDP backend being replaced), removed again afterwards.
 * Verdicts come from service-claims.ts.
 */

import { pollUntil } from "../base/poll-until.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { ProbeOutcome, Verdict } from "./claims.ts";
import {
  clusterIPv4,
  createService,
  DEMO_SERVICE,
  deleteService,
  EMPTY_SERVICE,
  nodePortOf,
  SERVICE_PORT,
  showService,
} from "./lab-services.ts";
import type { LabNode, LabPod, LabState } from "./lab-state.ts";
import { ECHO_PORT } from "./lab-state.ts";
import { attachPod, detachPod } from "./lab-up.ts";
import type { PodView } from "./probe.ts";
import { probeFrom } from "./probe.ts";
import {
  clusterIpBalanced,
  egressMasquerade,
  hairpinReach,
  nodePortOnEveryNode,
  refusedAtOnce,
  repliesFromClusterIP,
  udpBackendReplaced,
} from "./service-claims.ts";

const PROBES_PER_CLIENT = 12;
const PROGRAM_TIMEOUT_MS = 10_000;

const bareAddress = (cidr: string) => cidr.split("/")[0] as string;

/** Waits until every node's table sends this ClusterIP port somewhere (the proxies caught up). */
async function waitProgrammed(state: LabState, key: string): Promise<void> {
  let pending = state.nodes.map((n) => n.name);
  await pollUntil(
    `every node's service proxy to program ${key}`,
    async () => {
      const still: string[] = [];
      for (const node of state.nodes.filter((n) => pending.includes(n.name))) {
        const r = await run(inNetns(node.netns, ["nft", "list", "map", "ip", "podnet", "service-ips"]), {
          timeoutMs: 10_000,
        });
        if (!r.stdout.includes(key)) still.push(node.name);
      }
      pending = still;
      return pending.length === 0;
    },
    PROGRAM_TIMEOUT_MS,
    { detail: () => `not programmed on ${pending.join(", ")}` },
  );
}

async function repeat(times: number, probe: () => Promise<ProbeOutcome>): Promise<ProbeOutcome[]> {
  const out: ProbeOutcome[] = [];
  for (let i = 0; i < times; i++) out.push(await probe());
  return out;
}

async function timed(probe: Promise<ProbeOutcome>): Promise<{ outcome: ProbeOutcome; elapsedMs: number }> {
  const started = performance.now();
  const outcome = await probe;
  return { outcome, elapsedMs: performance.now() - started };
}

/** Probes until `accept` holds or the time is up; returns the last outcome and when it held. */
async function until(
  probe: () => Promise<ProbeOutcome>,
  accept: (o: ProbeOutcome) => boolean,
  timeoutMs: number,
): Promise<{ outcome: ProbeOutcome; afterMs: number | undefined }> {
  const started = performance.now();
  let outcome = await probe();
  while (!accept(outcome) && performance.now() - started < timeoutMs) {
    await Bun.sleep(100);
    outcome = await probe();
  }
  return { outcome, afterMs: accept(outcome) ? Math.round(performance.now() - started) : undefined };
}

const answeredBy = (pod: string) => (o: ProbeOutcome) => o.kind === "reply" && o.probe.reply.pod === pod;

async function hairpinCheck(state: LabState, pod: PodView): Promise<Verdict> {
  const name = "default/lab-check-self";
  // Left by an interrupted earlier check, if any.
  await deleteService(state, name).catch(() => {});
  const svc = await createService(state, {
    name,
    ports: [`${SERVICE_PORT}:${ECHO_PORT}/TCP`],
    selector: `pod=${pod.name}`,
  });
  try {
    const ip = clusterIPv4(svc);
    await waitProgrammed(state, `${ip} . tcp . ${SERVICE_PORT}`);
    return hairpinReach(pod.name, await probeFrom(state, pod.netns, ip, { port: SERVICE_PORT }));
  } finally {
    await deleteService(state, name);
  }
}

async function udpReplacementCheck(state: LabState, client: PodView, backendNode: LabNode): Promise<Verdict> {
  const name = "default/lab-check-udp";
  const labels = { role: "lab-check-udp" };
  await deleteService(state, name).catch(() => {});
  const svc = await createService(state, {
    name,
    ports: [`${SERVICE_PORT}:${ECHO_PORT}/UDP`],
    selector: "role=lab-check-udp",
  });
  const temporary: LabPod[] = [];
  try {
    const ip = clusterIPv4(svc);
    const old = await attachPod(state, backendNode, "udp-old", labels);
    temporary.push(old);
    // A fixed source port, as a resolver keeps one: every probe is the same UDP flow.
    const localPort = 40000 + Math.floor(Math.random() * 20000);
    const probe = () => probeFrom(state, client.netns, ip, { udp: true, port: SERVICE_PORT, localPort });
    const before = await until(probe, answeredBy("udp-old"), PROGRAM_TIMEOUT_MS);
    const started = performance.now();
    await detachPod(state, old);
    temporary.splice(0, 1);
    const replacement = await attachPod(state, backendNode, "udp-new", labels);
    temporary.push(replacement);
    const after = await until(probe, answeredBy("udp-new"), PROGRAM_TIMEOUT_MS);
    const addressOf = (p: LabPod) => {
      const r = p.result as { ips?: { address: string }[] };
      return bareAddress(r.ips?.[0]?.address ?? "?");
    };
    return udpBackendReplaced({
      client: client.name,
      localPort,
      old: { pod: old.name, ip: addressOf(old) },
      replacement: { pod: replacement.name, ip: addressOf(replacement) },
      before: before.outcome,
      after: after.outcome,
      recoveredMs: after.afterMs === undefined ? undefined : Math.round(performance.now() - started),
    });
  } finally {
    for (const pod of temporary) await detachPod(state, pod).catch(() => {});
    await deleteService(state, name);
  }
}

export async function serviceChecks(state: LabState, views: readonly PodView[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const echo = await showService(state, DEMO_SERVICE);
  const empty = await showService(state, EMPTY_SERVICE);
  const ip = clusterIPv4(echo);
  await waitProgrammed(state, `${ip} . tcp . ${SERVICE_PORT}`);
  const pod = views.find((v) => v.ipv4);
  const node = state.nodes[0];
  if (!pod || !node) throw new Error("the lab has no pod or node to check Services from");

  const tcp = (netns: string) => () => probeFrom(state, netns, ip, { port: SERVICE_PORT });
  const fromPod = await repeat(PROBES_PER_CLIENT, tcp(pod.netns));
  const fromNode = await repeat(PROBES_PER_CLIENT, tcp(node.netns));
  const udp = await repeat(4, () => probeFrom(state, pod.netns, ip, { port: SERVICE_PORT, udp: true }));
  verdicts.push(
    clusterIpBalanced(ip, [
      { client: pod.name, outcomes: fromPod },
      { client: node.name, outcomes: fromNode },
    ]),
  );
  verdicts.push(
    repliesFromClusterIP(ip, [
      ...fromPod.map((outcome) => ({ client: pod.name, proto: "tcp" as const, outcome })),
      ...fromNode.map((outcome) => ({ client: node.name, proto: "tcp" as const, outcome })),
      ...udp.map((outcome) => ({ client: pod.name, proto: "udp" as const, outcome })),
    ]),
  );

  const nodePort = nodePortOf(echo, "TCP");
  const nodePortProbes = [];
  for (const n of state.nodes) {
    const address = bareAddress(n.address);
    const outcome = await probeFrom(state, state.external.netns, address, { port: nodePort });
    nodePortProbes.push({ node: n.name, address, outcome });
  }
  verdicts.push(nodePortOnEveryNode(nodePort, nodePortProbes));

  verdicts.push(
    refusedAtOnce([
      {
        what: `${EMPTY_SERVICE} (${clusterIPv4(empty)}:${SERVICE_PORT})`,
        ...(await timed(probeFrom(state, pod.netns, clusterIPv4(empty), { port: SERVICE_PORT }))),
      },
      {
        what: `undefined port ${ip}:${SERVICE_PORT + 1}`,
        ...(await timed(probeFrom(state, pod.netns, ip, { port: SERVICE_PORT + 1 }))),
      },
    ]),
  );

  verdicts.push(await hairpinCheck(state, pod));

  const podNode = state.nodes.find((n) => n.name === pod.node);
  const other = views.find((v) => v.node !== pod.node && v.ipv4);
  const external = await probeFrom(state, pod.netns, bareAddress(state.external.address));
  verdicts.push(
    egressMasquerade(
      { pod: pod.name, nodeIps: podNode ? [bareAddress(podNode.address)] : [], outcome: external },
      other
        ? {
            pod: pod.name,
            podIp: pod.ipv4 as string,
            to: other.name,
            outcome: await probeFrom(state, pod.netns, other.ipv4 as string),
          }
        : undefined,
    ),
  );

  const client = views.find((v) => v.node !== node.name && v.ipv4) ?? pod;
  verdicts.push(await udpReplacementCheck(state, client, node));
  return verdicts;
}
