/**
 * The cluster of the service proxy tests: two host-gw nodes whose agents run the proxy, pods
 * labelled as a runtime would label them, and Services written to the datastore, all in place
 * (every Service and endpoint programmed on both nodes) before the first test.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { pollUntil } from "../../../src/base/poll-until.ts";
import { readClusterConfig } from "../../../src/cluster/cluster-config-store.ts";
import { createService } from "../../../src/cluster/service-store.ts";
import type { ServiceInput } from "../../../src/cluster/service-validation.ts";
import type { Service } from "../../../src/k8s/service-model.ts";
import type { EchoProbe } from "../../../src/lab/echo-reply.ts";
import type { Store } from "../../../src/store/store.ts";
import { metricValue } from "../../../testkit/prometheus-text.ts";
import { logTail } from "./agent-log.ts";
import type { AgentProcess } from "./cluster-agent.ts";
import { ECHO_PORT, type EchoOptions, type EchoOutcome, probeEcho, tryEcho } from "./echo-pods.ts";
import { type ClusterPod, type TestCluster, useTestCluster } from "./test-cluster.ts";

export const NODES = ["node1", "node2"] as const;
/** Agents check their table every RESYNC seconds. */
export const RESYNC = 2;
export const WEB = ["web-1", "web-2"];
const PODS: readonly (readonly [node: string, name: string, labels: Record<string, string>])[] = [
  ["node1", "web-1", { app: "web" }],
  ["node2", "web-2", { app: "web" }],
  ["node1", "solo", { app: "solo" }],
  ["node1", "dns-a", { app: "dns" }],
  ["node2", "client", { role: "client" }],
];
const tcp = { port: 80, targetPort: ECHO_PORT } as const;
export const udp = { ...tcp, protocol: "UDP" } as const;
export const service = (
  name: string,
  app: string,
  ports: ServiceInput["ports"],
  more = {},
): ServiceInput => ({
  namespace: "default",
  name,
  selector: { app },
  ports,
  ...more,
});
const SERVICES: readonly ServiceInput[] = [
  service("web", "web", [
    { name: "http", ...tcp, nodePort: "auto" },
    { name: "udp", ...udp, nodePort: "auto" },
  ]),
  service("affine", "web", [tcp], { sessionAffinity: { kind: "ClientIP" } }),
  service("empty", "nothing", [
    { name: "tcp", ...tcp },
    { name: "udp", ...udp },
  ]),
  service("solo", "solo", [tcp]),
  service("dns", "dns", [{ ...udp, port: 53 }]),
  service("doomed", "web", [tcp]),
];
/** Endpoints over all SERVICES once every pod of PODS is known: web 2, affine 2, solo 1, dns 1, doomed 2. */
const ENDPOINTS = 8;

export type ProbeOptions = Omit<EchoOptions, "port">;

/** One echo probe inside `ns` (2 s unless `o` says otherwise); never throws for a failed probe. */
export function echo(ns: string, host: string, port: number, o: ProbeOptions = {}): Promise<EchoOutcome> {
  return tryEcho(ns, host, { timeoutMs: 2000, ...o, port });
}

/** One echo probe inside `ns` (2 s unless `o` says otherwise); throws when it gets no answer. */
export function reach(ns: string, host: string, port: number, o: ProbeOptions = {}): Promise<EchoProbe> {
  return probeEcho(ns, host, { timeoutMs: 2000, ...o, port });
}

export interface ProxyCluster {
  readonly cluster: () => TestCluster;
  readonly pods: Map<string, ClusterPod>;
  readonly services: ReadonlyMap<string, Service>;
  /** The client of the cluster's datastore the tests share. */
  store(): Store;
  logs(): string;
  /** `value`, or a failure naming `what` as not set up. */
  must<T>(value: T | undefined, what: string): T;
  pod(name: string): ClusterPod;
  clusterIP(name: string): string;
  netns(node: string): string;
  /** A sample of the node's metrics; a counter never incremented is absent: `absent` says what that means. */
  metric(node: string, sample: string, absent?: number): Promise<number>;
  fullSyncs(node: string): Promise<number>;
  /** Probes until every web pod has answered; checks every reply came from `host`. */
  spread(ns: string, host: string, port: number, o?: ProbeOptions): Promise<EchoProbe[]>;
}

/** Sets the cluster up for the enclosing test file (beforeAll) and returns its helpers. */
export function useProxyCluster(): ProxyCluster {
  const cluster = useTestCluster(2);
  const agents = new Map<string, AgentProcess>();
  const pods = new Map<string, ClusterPod>();
  const services = new Map<string, Service>();
  let store: Store | undefined;
  const logs = () => [...agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a, 12)}`).join("\n");
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} was not set up (beforeAll failed?)`);
    return value;
  };
  const pod = (name: string) => must(pods.get(name), `pod ${name}`);
  const metric = async (node: string, sample: string, absent = Number.NaN) =>
    metricValue(await cluster().metrics(node), sample) ?? absent;

  const spread = async (ns: string, host: string, port: number, o: ProbeOptions = {}) => {
    const seen: EchoProbe[] = [];
    await pollUntil(
      `both web pods to answer at ${host}:${port}`,
      async () => {
        seen.push(await reach(ns, host, port, o));
        return WEB.every((w) => seen.some((p) => p.reply.pod === w));
      },
      20_000,
      { detail: () => `replies: ${seen.map((p) => p.reply.pod).join(" ")}\n${logs()}` },
    );
    for (const p of seen) expect(p.replyFrom).toBe(host);
    for (const p of seen) expect(p.reply.ip).toBe(pod(p.reply.pod).ip);
    return seen;
  };

  beforeAll(async () => {
    const c = cluster();
    for (const n of NODES) agents.set(n, c.startAgent(n, { backend: "host-gw", resync: RESYNC }));
    await Promise.all([...agents.values()].map((a) => c.waitReady(a)));
    for (const [node, name, labels] of PODS) pods.set(name, await c.addPod(node, { name, labels }));
    store = await c.openStore();
    const config = await readClusterConfig(store);
    if (!config) throw new Error("the agents wrote no cluster config");
    for (const input of SERVICES) services.set(input.name, await createService(store, config, input));
    // The gauges are set after a sync is applied: both nodes have every Service and endpoint in.
    for (const n of NODES)
      await pollUntil(
        `${n} to program ${SERVICES.length} Services with ${ENDPOINTS} endpoints`,
        async () =>
          (await metric(n, "podnet_proxy_services")) === SERVICES.length &&
          (await metric(n, "podnet_proxy_endpoints")) === ENDPOINTS,
        15_000,
        { detail: logs },
      );
  });
  afterAll(() => store?.close());

  return {
    cluster,
    pods,
    services,
    store: () => must(store, "the datastore client"),
    logs,
    must,
    pod,
    clusterIP: (name) => must(services.get(name)?.clusterIPs[0], `Service ${name}`),
    netns: (node) => cluster().node(node).netns,
    metric,
    fullSyncs: (node) => metric(node, 'podnet_proxy_syncs_total{kind="full"}'),
    spread,
  };
}
