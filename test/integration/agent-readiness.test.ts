/**
 * Readiness checks in the node agent, on real agents, nftables and packets: pods of a Service on
 * two host-gw nodes declare a TCP check on their echo server's port (`args.podnet.readiness`, as
 * a runtime passes it); their agents check them from the node's namespace. A pod whose server is
 * stopped is published `ready: false` and leaves the Service's endpoints on every node's nft
 * rules — no connection reaches it — and comes back when the server is started again; a pod
 * whose server never ran is never an endpoint (readiness starts false until a first success).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { pollUntil } from "../../src/base/poll-until.ts";
import { readClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import { listPodRecords } from "../../src/cluster/pod-records.ts";
import { createService } from "../../src/cluster/service-store.ts";
import { parseConflist } from "../../src/cni/conflist.ts";
import type { Service } from "../../src/k8s/service-model.ts";
import { CniRuntime } from "../../src/lab/cni-runtime.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { serviceEndpointsMap } from "../../src/proxy/nft-names.ts";
import type { Store } from "../../src/store/store.ts";
import { PODNET } from "../../testkit/podnet-build.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { logTail } from "./harness/agent-log.ts";
import type { AgentProcess } from "./harness/cluster-agent.ts";
import { ECHO_PORT, tryEcho } from "./harness/echo-pods.ts";
import { nftOnLiveTable } from "./harness/proxy-table.ts";
import { useTestCluster } from "./harness/test-cluster.ts";
import { REFERENCE_PLUGINS } from "./harness/test-node.ts";
import { TestRun, useDisposable } from "./harness/test-run.ts";

const NODES = ["node1", "node2"] as const;
/** Checked every second; one failure takes a pod out, one success brings it back. */
const CHECK = { tcpSocket: { port: ECHO_PORT }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1 };
/** A readiness change reaches every node's rules within this (checks every 1 s, then one sync). */
const CONVERGE_MS = 10_000;

interface Pod {
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  readonly ip: string;
  server: Subprocess | undefined;
}

describe("readiness checks in the node agent (real agents, nftables and packets)", () => {
  const cluster = useTestCluster(2);
  // The pods' namespaces and echo servers: a run of their own, since they are attached with
  // arguments the cluster's addPod does not pass.
  const podRun = useDisposable("readiness pods", () => new TestRun(), "suite");
  const agents = new Map<string, AgentProcess>();
  const pods = new Map<string, Pod>();
  let store: Store | undefined;
  let web: Service | undefined;

  const logs = () => [...agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a, 15)}`).join("\n");
  const pod = (name: string): Pod => {
    const p = pods.get(name);
    if (!p) throw new Error(`pod ${name} was not set up (beforeAll failed?)`);
    return p;
  };
  const clusterIP = (): string => {
    const ip = web?.clusterIPs[0];
    if (!ip) throw new Error("Service web was not set up (beforeAll failed?)");
    return ip;
  };

  /** Attaches `name` as a runtime would, its check in args.podnet.readiness when `checked`. */
  async function attach(node: string, name: string, checked: boolean): Promise<Pod> {
    const c = cluster();
    const n = c.node(node);
    const conflist = parseConflist(readFileSync(n.conflistPath, "utf8"));
    const [first, ...rest] = conflist.plugins;
    if (!first) throw new Error(`the conflist of ${node} has no plugin`);
    const args = checked
      ? { ...(first.args as object | undefined), podnet: { readiness: CHECK } }
      : first.args;
    const runtime = new CniRuntime(
      { ...conflist, plugins: [{ ...first, ...(args ? { args } : {}) }, ...rest] },
      { binDirs: [c.binDir, REFERENCE_PLUGINS], nodeNetns: n.netns, timeoutMs: 30_000 },
    );
    const { name: netns, path } = podRun().createNetns(name);
    const result = (await runtime.add({
      containerId: `${podRun().prefix}-${name}`,
      ifname: "eth0",
      netnsPath: path,
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: name },
      labels: { app: "web" },
    })) as { ips?: { address: string }[] };
    const ip = result.ips?.[0]?.address.split("/")[0];
    if (!ip) throw new Error(`ADD of ${name} returned no address: ${JSON.stringify(result)}`);
    const p: Pod = { name, node, netns, ip, server: undefined };
    pods.set(name, p);
    return p;
  }

  /** Starts the pod's echo server (output in the run's directory) and waits until it listens. */
  async function startServer(p: Pod): Promise<void> {
    const logPath = `${podRun().dir}/echo-${p.name}.log`;
    const fd = openSync(logPath, "a");
    try {
      p.server = podRun().adopt(
        Bun.spawn(
          inNetns(p.netns, [PODNET, "lab", "echo-server", "--pod", p.name, "--port", String(ECHO_PORT)]),
          {
            stdin: "ignore",
            stdout: fd,
            stderr: fd,
          },
        ),
      );
    } finally {
      closeSync(fd);
    }
    const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
    await pollUntil(`the echo server of ${p.name}`, () => log().includes("listening"), 10_000, {
      detail: log,
    });
  }

  async function stopServer(p: Pod): Promise<void> {
    const server = p.server;
    if (!server) return;
    server.kill("SIGKILL");
    await server.exited;
    podRun().release(server);
    p.server = undefined;
  }

  /** The pods each node's rules send the Service's ClusterIP:80 to. */
  function endpointsOn(node: string): string[] {
    const ns = cluster().node(node).netns;
    const out = nftOnLiveTable(ns, "ip", ["list", "map"], [serviceEndpointsMap("tcp")]);
    const ip = clusterIP().replaceAll(".", "\\.");
    const element = new RegExp(`${ip} \\. 80 \\. \\d+ : ([0-9.]+) \\. ${ECHO_PORT}`, "g");
    const ips = [...out.stdout.matchAll(element)].map((m) => m[1] as string);
    return [...pods.values()]
      .filter((p) => ips.includes(p.ip))
      .map((p) => p.name)
      .sort();
  }

  /** What the pod's record in the datastore says (undefined: ready, as an unchecked pod). */
  async function recordReady(p: Pod): Promise<boolean | undefined> {
    if (!store) throw new Error("no datastore client (beforeAll failed?)");
    const s = store;
    const find = async () => (await listPodRecords(s, p.node)).pods.find((r) => r.name === p.name);
    // The last pod attached may be published a coalesce period after the others.
    await pollUntil(`a record of ${p.name} on ${p.node}`, async () => (await find()) !== undefined, 5_000);
    const record = await find();
    if (!record) throw new Error(`no record of ${p.name} on ${p.node}`);
    return record.ready;
  }

  async function everyNodeSends(what: string, expected: string[]): Promise<number> {
    const { ms } = await pollUntil(
      what,
      () => NODES.every((n) => JSON.stringify(endpointsOn(n)) === JSON.stringify(expected)),
      CONVERGE_MS,
      { detail: () => `${NODES.map((n) => `${n}: ${endpointsOn(n).join(" ")}`).join("; ")}\n${logs()}` },
    );
    return ms;
  }

  const metric = async (node: string, sample: string) =>
    metricValue(await cluster().metrics(node), sample) ?? Number.NaN;

  beforeAll(async () => {
    const c = cluster();
    for (const n of NODES) agents.set(n, c.startAgent(n, { backend: "host-gw", resync: 2 }));
    await Promise.all([...agents.values()].map((a) => c.waitReady(a)));
    store = await c.openStore();
    const config = await readClusterConfig(store);
    if (!config) throw new Error("the agents wrote no cluster config");
    web = await createService(store, config, {
      namespace: "default",
      name: "web",
      selector: { app: "web" },
      ports: [{ name: "http", port: 80, targetPort: ECHO_PORT }],
    });
    for (const [node, name, checked, serve] of [
      ["node1", "web-1", true, true],
      ["node2", "web-2", true, true],
      ["node2", "plain", false, true],
      ["node1", "silent", true, false],
    ] as const) {
      const p = await attach(node, name, checked);
      if (serve) await startServer(p);
    }
  });
  afterAll(() => store?.close());

  test("checked pods become endpoints on their first success; one whose server never ran never does", async () => {
    const ms = await everyNodeSends("both nodes to send web to web-1, web-2 and plain", [
      "plain",
      "web-1",
      "web-2",
    ]);
    console.log(`checked pods in every node's rules ${ms} ms after the wait began`);
    expect(await recordReady(pod("silent"))).toBe(false);
    expect(await recordReady(pod("web-1"))).toBeUndefined();
    expect(await recordReady(pod("plain"))).toBeUndefined();
    expect(await metric("node1", "podnet_agent_pods_not_ready")).toBe(1);
    expect(await metric("node1", "podnet_agent_pods_checked")).toBe(2);
    expect(await metric("node2", "podnet_agent_pods_not_ready")).toBe(0);
  });

  test("a pod whose server stops leaves the endpoints on every node, no connection reaches it, and it comes back", async () => {
    await everyNodeSends("both nodes to have every ready pod in", ["plain", "web-1", "web-2"]);
    const fullBefore = await Promise.all(
      NODES.map((n) => metric(n, 'podnet_proxy_syncs_total{kind="full"}')),
    );
    const web1 = pod("web-1");
    await stopServer(web1);
    const gone = await everyNodeSends("web-1 to leave web on both nodes", ["plain", "web-2"]);
    console.log(`web-1 out of every node's rules ${gone} ms after its server stopped`);
    expect(await recordReady(web1)).toBe(false);
    expect(await metric("node1", "podnet_agent_pods_not_ready")).toBe(2);
    // From either node and from a pod, every connection to the ClusterIP is answered by a ready pod.
    for (const from of [cluster().node("node1").netns, cluster().node("node2").netns, pod("plain").netns])
      for (let i = 0; i < 8; i++) {
        const r = await tryEcho(from, clusterIP(), { port: 80, timeoutMs: 2000 });
        if (!r.ok) throw new Error(`a connection from ${from} to web failed: ${r.error}\n${logs()}`);
        expect(["web-2", "plain"]).toContain(r.probe.reply.pod);
      }

    await startServer(web1);
    const back = await everyNodeSends("web-1 to come back to web on both nodes", ["plain", "web-1", "web-2"]);
    console.log(`web-1 back in every node's rules ${back} ms after its server started`);
    expect(await recordReady(web1)).toBeUndefined();
    // A readiness flip is one endpoint more or less: partial syncs, no full one.
    const fullAfter = await Promise.all(NODES.map((n) => metric(n, 'podnet_proxy_syncs_total{kind="full"}')));
    expect(fullAfter).toEqual(fullBefore);
  });

  test("a pod whose server starts late becomes ready then", async () => {
    const silent = pod("silent");
    await startServer(silent);
    await everyNodeSends("silent to join web on both nodes", ["plain", "silent", "web-1", "web-2"]);
    expect(await recordReady(silent)).toBeUndefined();
    expect(await metric("node1", "podnet_agent_pods_not_ready")).toBe(0);
  });
});
