/**
 * The Service and egress part of `podnet lab check`: real connections to the demo Service, its
 * NodePort, a Service without endpoints, the external host; plus two short-lived Services of its
 * own (one pod reaching itself, one UDP backend being replaced), removed again afterwards.
 * Verdicts come from service-claims.ts.
 */

import { pollUntil } from "../base/poll-until.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { NAMES } from "../proxy/nft-names.ts";
import type { ProbeOutcome, Verdict } from "./claims.ts";
import { addressOf, type LabFamily } from "./lab-families.ts";
import {
  clusterIPOf,
  createService,
  DEMO_SERVICE,
  deleteService,
  EMPTY_SERVICE,
  nodePortOf,
  SERVICE_PORT,
  showService,
} from "./lab-services.ts";
import type { LabNode, LabPod, LabState } from "./lab-state.ts";
import { ECHO_PORT, externalAddresses, nodeAddresses } from "./lab-state.ts";
import { attachPod, detachPod } from "./lab-up.ts";
import type { PodView } from "./probe.ts";
import { ipOf, probeFrom } from "./probe.ts";
import { listProxyMap } from "./proxy-map.ts";
import {
  clusterIpBalanced,
  egressMasquerade,
  hairpinReach,
  nodePortOnEveryNode,
  refusedAtOnce,
  repliesFromClusterIP,
  udpBackendReplaced,
} from "./service-claims.ts";
import { mapHoldsKey, serviceMapKey } from "./service-map-key.ts";

const PROBES_PER_CLIENT = 12;
const PROGRAM_TIMEOUT_MS = 10_000;

/**
 * Waits until every node's table of family f (`ip podnet` or `ip6 podnet`: one proxier per
 * family, as kube-proxy; live under either of its two names) sends this ClusterIP port somewhere
 * (the proxies caught up).
 */
async function waitProgrammed(state: LabState, key: string, f: LabFamily): Promise<void> {
  let pending = state.nodes.map((n) => n.name);
  await pollUntil(
    `every node's service proxy to program ${key}`,
    async () => {
      const still: string[] = [];
      for (const node of state.nodes.filter((n) => pending.includes(n.name))) {
        const r = await listProxyMap(node.netns, f, NAMES.serviceIps);
        if (!mapHoldsKey(r.stdout, key)) still.push(node.name);
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

/**
 * The temporary Services are created PreferDualStack (both families in a dual lab, the one the
 * lab has otherwise) and deleted again within one family's pass.
 */
async function hairpinCheck(state: LabState, pod: PodView, f: LabFamily): Promise<Verdict> {
  const name = "default/lab-check-self";
  // Left by an interrupted earlier check, if any.
  await deleteService(state, name).catch(() => {});
  const svc = await createService(state, {
    name,
    ports: [`${SERVICE_PORT}:${ECHO_PORT}/TCP`],
    selector: `pod=${pod.name}`,
    ipFamilyPolicy: "PreferDualStack",
  });
  try {
    const ip = clusterIPOf(svc, f);
    await waitProgrammed(state, serviceMapKey(ip, "tcp", SERVICE_PORT), f);
    return hairpinReach(pod.name, await probeFrom(state, pod.netns, ip, { port: SERVICE_PORT }));
  } finally {
    await deleteService(state, name);
  }
}

async function udpReplacementCheck(
  state: LabState,
  client: PodView,
  backendNode: LabNode,
  f: LabFamily,
): Promise<Verdict> {
  const name = "default/lab-check-udp";
  const labels = { role: "lab-check-udp" };
  await deleteService(state, name).catch(() => {});
  const svc = await createService(state, {
    name,
    ports: [`${SERVICE_PORT}:${ECHO_PORT}/UDP`],
    selector: "role=lab-check-udp",
    ipFamilyPolicy: "PreferDualStack",
  });
  const temporary: LabPod[] = [];
  try {
    const ip = clusterIPOf(svc, f);
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
    // The CNI result's address of family f (a dual pod has one per family).
    const podAddress = (p: LabPod) => {
      const ips = (p.result as { ips?: { address: string }[] }).ips ?? [];
      return (
        addressOf(
          ips.map((i) => i.address),
          f,
        ) ?? "?"
      );
    };
    return udpBackendReplaced({
      client: client.name,
      localPort,
      old: { pod: old.name, ip: podAddress(old) },
      replacement: { pod: replacement.name, ip: podAddress(replacement) },
      before: before.outcome,
      after: after.outcome,
      recoveredMs: after.afterMs === undefined ? undefined : Math.round(performance.now() - started),
    });
  } finally {
    for (const pod of temporary) await detachPod(state, pod).catch(() => {});
    await deleteService(state, name);
  }
}

/** The 7 Service and egress claims over family f's ClusterIPs, pod IPs and node IPs. */
export async function serviceChecks(
  state: LabState,
  views: readonly PodView[],
  f: LabFamily,
): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const echo = await showService(state, DEMO_SERVICE);
  const empty = await showService(state, EMPTY_SERVICE);
  const ip = clusterIPOf(echo, f);
  const emptyIP = clusterIPOf(empty, f);
  await waitProgrammed(state, serviceMapKey(ip, "tcp", SERVICE_PORT), f);
  const pod = views.find((v) => ipOf(v, f));
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
    const address = addressOf(nodeAddresses(n), f);
    if (!address) throw new Error(`node ${n.name} has no IPv${f} address in the lab state`);
    const outcome = await probeFrom(state, state.external.netns, address, { port: nodePort });
    nodePortProbes.push({ node: n.name, address, outcome });
  }
  verdicts.push(nodePortOnEveryNode(nodePort, nodePortProbes));

  verdicts.push(
    refusedAtOnce([
      {
        what: `${EMPTY_SERVICE} (${hostPort(emptyIP, SERVICE_PORT)})`,
        ...(await timed(probeFrom(state, pod.netns, emptyIP, { port: SERVICE_PORT }))),
      },
      {
        what: `undefined port ${hostPort(ip, SERVICE_PORT + 1)}`,
        ...(await timed(probeFrom(state, pod.netns, ip, { port: SERVICE_PORT + 1 }))),
      },
    ]),
  );

  verdicts.push(await hairpinCheck(state, pod, f));

  const podIp = ipOf(pod, f) as string;
  const podNode = state.nodes.find((n) => n.name === pod.node);
  const podNodeIp = podNode ? addressOf(nodeAddresses(podNode), f) : undefined;
  const other = views.find((v) => v.node !== pod.node && ipOf(v, f));
  const otherIp = other ? ipOf(other, f) : undefined;
  const externalIp = addressOf(externalAddresses(state), f);
  if (!externalIp) throw new Error(`the external host has no IPv${f} address in the lab state`);
  const external = await probeFrom(state, pod.netns, externalIp);
  verdicts.push(
    egressMasquerade(
      { pod: pod.name, nodeIps: podNodeIp ? [podNodeIp] : [], outcome: external },
      other && otherIp
        ? { pod: pod.name, podIp, to: other.name, outcome: await probeFrom(state, pod.netns, otherIp) }
        : undefined,
    ),
  );

  const client = views.find((v) => v.node !== node.name && ipOf(v, f)) ?? pod;
  verdicts.push(await udpReplacementCheck(state, client, node, f));
  return verdicts;
}
