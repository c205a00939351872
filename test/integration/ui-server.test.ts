/**
 * `podnet ui`'s server (src/ui/ui-server.ts) on a real cluster: three nodes of the lab's underlay
 * (node1 and node2 on lan1, node3 behind the router on lan2), a real agent (auto backend) and a
 * pod on each, one SQLite datastore. /api/map lists the nodes, their segments, blocks, pods, the
 * direct and VXLAN links and a Service; a pod record written to the datastore reaches an open
 * /api/events stream within a second; /api/explain and /api/trace answer as `podnet explain` and
 * `podnet trace` do. (The agents run with a long resync, so the records the test writes by hand
 * stay.) Then a server bound to node1's underlay address (192.0.2.11, inside node1's
 * namespace — nothing in the root namespace) refuses API requests without the token it printed,
 * and a page that never reads its event stream does not make the server hold the maps it missed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import { readClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import { podRecordKey, putPodRecord } from "../../src/cluster/pod-records.ts";
import { createService } from "../../src/cluster/service-store.ts";
import type { Explanation } from "../../src/diagnosis/explanation.ts";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { Store } from "../../src/store/store.ts";
import type { ClusterMap } from "../../src/ui/map-types.ts";
import { startUiServer, TOKEN_HEADER, type UiServer } from "../../src/ui/ui-server.ts";
import { readMapUntil } from "../support/read-map-until.ts";
import type { AgentProcess } from "./harness/cluster-agent.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { type ClusterPod, useTestCluster } from "./harness/test-cluster.ts";

const NODES = ["node1", "node2", "node3"] as const;
const UI_SERVER = resolve(import.meta.dir, "../../src/ui/ui-server.ts");
const REMOTE_PORT = 7474;

const podNames = (m: ClusterMap) =>
  m.nodes.flatMap((n) => n.blocks.flatMap((b) => b.pods.map((p) => p.name))).sort();

/** A non-reading client: connects, asks for the event stream, reads nothing until told to on stdin. */
const SLOW_CLIENT = `
import socket, sys, time
host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
s.sendall(("GET /api/events?token=%s HTTP/1.1\\r\\nHost: %s:%d\\r\\n\\r\\n" % (token, host, port)).encode())
print("connected", flush=True)
sys.stdin.readline()
s.settimeout(0.5)
data = b""
end = time.time() + 4
while time.time() < end:
    try:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    except socket.timeout:
        pass
print(data.count(b"event: map"), flush=True)
`;

function rssKb(pid: number): number {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
}

describe("podnet ui's server on a real cluster", () => {
  const cluster = useTestCluster(3);
  const agents: AgentProcess[] = [];
  const pods = new Map<string, ClusterPod>();
  let store: Store | undefined;
  let server: UiServer | undefined;
  const s = () => {
    if (!store || !server) throw new Error("the cluster is not up (the first test failed)");
    return { store, server };
  };
  // As the page's own fetch does (a loopback server sends probes only for a same-origin fetch or the token header).
  const api = (path: string) =>
    fetch(`http://127.0.0.1:${s().server.port}${path}`, { headers: { "sec-fetch-site": "same-origin" } });

  afterAll(async () => {
    await server?.stop();
    await store?.close();
  });

  test("three agents, a pod on each, a Service, and the server", async () => {
    const c = cluster();
    for (const node of NODES) agents.push(c.startAgent(node, { backend: "auto", resync: 600 }));
    for (const agent of agents) await c.waitReady(agent);
    for (const node of NODES)
      pods.set(node, await c.addPod(node, { name: `${node}-a`, labels: { app: "echo" } }));
    store = await c.openStore();
    const config = await readClusterConfig(store);
    if (!config) throw new Error("no cluster config");
    await createService(store, config, {
      namespace: "default",
      name: "echo",
      selector: { app: "echo" },
      ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
    });
    server = await startUiServer({
      store,
      hostname: "127.0.0.1",
      port: 0,
      hosts: [
        { name: "outside", ip: "203.0.113.10", note: "a host outside the cluster", cidr: "203.0.113.0/24" },
      ],
      // The underlay's one router, by its address on each segment (`podnet ui --router`).
      routers: [{ name: "router", addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"] }],
      // Generous: the agents answer slower on a loaded machine.
      factsTimeoutMs: 8000,
      explainTimeoutMs: 8000,
      traceTimeoutMs: 20_000,
      log: () => {},
    });
    expect(server.token).toBeUndefined();
  }, 120_000);

  test("/api/map: segments, nodes, blocks, pods, links and the Service", async () => {
    const c = cluster();
    // The facts arrive once every agent answered; wait for a map built with all three.
    let last: ClusterMap | undefined;
    const map = await pollUntil(
      "a map with every node's facts",
      async () => {
        last = (await (await api("/api/map")).json()) as ClusterMap;
        // The proxies may still be catching up with the new Service: facts are read again every 10 s.
        const settled =
          last.nodes.every((n) => n.answering) && last.links.length === 6 && last.drift.length === 0;
        return settled ? last : undefined;
      },
      60_000,
      { detail: () => JSON.stringify(last) },
    );
    const m = map.value;
    expect(m.nodes.map((n) => n.name)).toEqual([...NODES]);
    expect(m.segments.map((seg) => [seg.cidr, seg.nodes])).toEqual([
      ["192.0.2.0/24", ["node1", "node2"]],
      ["198.51.100.0/24", ["node3"]],
    ]);
    expect(m.segments.every((seg) => seg.routers.length === 1)).toBe(true);
    // The nodes' default gateways on both segments are one router, the one the operator named.
    expect(m.routers).toEqual([
      {
        name: "router",
        addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"],
        segments: ["192.0.2.0/24", "198.51.100.0/24"],
      },
    ]);
    expect(m.hosts[0]?.routers).toEqual(["router"]);
    for (const node of NODES) {
      const n = m.nodes.find((x) => x.name === node);
      expect(n?.nodeIPs).toEqual([addressOf(c.node(node))]);
      expect(n?.blocks.map((b) => b.cidr)).toEqual([c.blockOf(node)]);
      expect(n?.blocks[0]?.pods.map((p) => `${p.name} ${p.ip}`)).toEqual([`${node}-a ${pods.get(node)?.ip}`]);
    }
    const kinds = m.links.map((l) => `${l.from}>${l.to}:${l.kind}:${l.ok}`).sort();
    expect(kinds).toEqual([
      "node1>node2:direct:true",
      "node1>node3:vxlan:true",
      "node2>node1:direct:true",
      "node2>node3:vxlan:true",
      "node3>node1:vxlan:true",
      "node3>node2:vxlan:true",
    ]);
    const echo = m.services.find((x) => x.name === "echo");
    expect(echo?.clusterIPs).toHaveLength(1);
    expect(echo?.endpoints.map((e) => e.pod).sort()).toEqual(NODES.map((n) => `default/${n}-a`));
    expect(m.hosts.map((h) => h.ip)).toEqual(["203.0.113.10"]);
    expect(m.drift).toEqual([]);
    expect(m.missing).toEqual([]);
  }, 90_000);

  test("a pod record written to the datastore is on /api/events within a second", async () => {
    const res = await api("/api/events");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    if (!res.body) throw new Error("no body");
    const reading = readMapUntil(res.body, (m) => podNames(m).includes("late-pod"), 5000);
    await Bun.sleep(200);
    const started = Date.now();
    await putPodRecord(s().store, {
      namespace: "default",
      name: "late-pod",
      node: "node2",
      ips: [`${cluster().blockOf("node2").split(".").slice(0, 3).join(".")}.200`],
      labels: {},
    });
    const map = await reading;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(map.nodes.find((n) => n.name === "node2")?.blocks[0]?.pods.map((p) => p.name)).toContain(
      "late-pod",
    );
  }, 30_000);

  test("/api/explain and /api/trace answer as the commands do", async () => {
    const pod1 = pods.get("node1");
    const pod3 = pods.get("node3");
    if (!pod1 || !pod3) throw new Error("no pods");
    const e = (await (await api(`/api/explain?address=${pod3.ip}`)).json()) as Explanation;
    expect(e.schema).toBe("podnet.explain/v1");
    expect(e.kinds).toContain("pod");
    const plain = await fetch(
      `http://127.0.0.1:${s().server.port}/api/trace?source=${pod1.name}&destination=${pod3.ip}:8080`,
    );
    expect(plain.status).toBe(403);
    const trace = await api(`/api/trace?source=${pod1.name}&destination=${pod3.ip}:8080`);
    expect(trace.status).toBe(200);
    const report = (await trace.json()) as TraceReport;
    expect(report.schema).toBe("podnet.trace/v1");
    expect(report.probed).toBe(true);
    expect(report.verdict.status).toBe("agree");
    expect(report.probe?.outcome).toBe("answered");
    const bad = await api("/api/trace?source=nosuchpod&destination=10.244.0.1");
    expect(bad.status).toBe(400);
  }, 60_000);

  test("bound to node1's underlay address: no token, 401; the printed token, 200", async () => {
    const c = cluster();
    const node1 = c.node("node1");
    const host = addressOf(node1);
    const script = `import { startUiServer } from ${JSON.stringify(UI_SERVER)};
const s = await startUiServer({ datastore: ${JSON.stringify(c.datastore)}, hostname: ${JSON.stringify(host)}, port: ${REMOTE_PORT}, log: () => {} });
console.log(s.url);
// Collected often, so that the memory the test measures is what the server really holds.
setInterval(() => Bun.gc(true), 500);
await new Promise(() => {});`;
    const child = Bun.spawn(inNetns(node1.netns, [process.execPath, "-e", script]), {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = child.stdout.getReader();
      let printed = "";
      while (!printed.includes("\n")) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`the server exited: ${await new Response(child.stderr).text()}`);
        printed += new TextDecoder().decode(chunk.value);
      }
      reader.releaseLock();
      const url = printed.trim();
      const token = new URL(url).searchParams.get("token") ?? "";
      expect(url.startsWith(`http://${host}:${REMOTE_PORT}/?token=`)).toBe(true);
      expect(token.length).toBeGreaterThanOrEqual(16);
      const curl = async (...args: string[]) => {
        const r = await run(
          inNetns(node1.netns, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", ...args]),
          {
            timeoutMs: 10_000,
          },
        );
        return r.stdout.trim();
      };
      const mapUrl = `http://${host}:${REMOTE_PORT}/api/map`;
      expect(await curl(mapUrl)).toBe("401");
      expect(await curl(`${mapUrl}?token=not-the-token`)).toBe("401");
      expect(await curl(`http://${host}:${REMOTE_PORT}/api/explain?address=10.244.0.1`)).toBe("401");
      expect(await curl("-H", `${TOKEN_HEADER}: ${token}`, mapUrl)).toBe("200");
      expect(await curl(`${mapUrl}?token=${token}`)).toBe("200");

      /** The map as a page in node1's namespace gets it, or why not. */
      const remoteMap = async (): Promise<ClusterMap | string> => {
        const r = await run(
          inNetns(node1.netns, ["curl", "-sS", "-m", "10", "-H", `${TOKEN_HEADER}: ${token}`, mapUrl]),
          { timeoutMs: 15_000 },
        );
        try {
          return JSON.parse(r.stdout) as ClusterMap;
        } catch {
          return `curl exited ${r.code}: ${r.stderr.trim()} (${r.stdout.length} bytes)`;
        }
      };

      // A page that never reads its event stream, while the map changes again and again.
      const slow = Bun.spawn(
        inNetns(node1.netns, ["python3", "-c", SLOW_CLIENT, host, String(REMOTE_PORT), token]),
        {
          stdin: "pipe",
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      try {
        const slowOut = slow.stdout.getReader();
        const first = new TextDecoder().decode((await slowOut.read()).value);
        expect(first).toContain("connected");
        await Bun.sleep(500);

        const label = "x".repeat(60);
        const labels = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`label-${i}`, label]));
        const bulkPod = (node: string, i: number) => ({
          namespace: "default",
          name: `bulk-${node}-${i}`,
          node,
          ips: [`${c.blockOf(node).split(".").slice(0, 3).join(".")}.${i}`],
          labels,
        });
        // A big map first (~1 MB: 720 pods with labels), written at once (few versions)...
        for (const node of NODES)
          await Promise.all(
            Array.from({ length: 240 }, (_, i) => putPodRecord(s().store, bulkPod(node, 10 + i))),
          );
        const big = await pollUntil(
          "the big map",
          async () => {
            const m = await remoteMap();
            return typeof m !== "string" && podNames(m).length >= 720 ? m : undefined;
          },
          30_000,
        );
        const mapBytes = JSON.stringify(big.value).length;
        expect(mapBytes).toBeGreaterThan(500_000);
        const versionBefore = big.value.version;
        const before = rssKb(child.pid);
        // ...then many versions of it, one by one: queued for the page, they would be ~100 MB.
        const versions = 100;
        for (let i = 0; i < versions; i++) {
          await s().store.delete(
            podRecordKey({ node: "node1", namespace: "default", name: `bulk-node1-${10 + i}` }),
          );
          await Bun.sleep(100);
        }
        let seen = "";
        const newest = await pollUntil(
          "the server's map with every bulk Service",
          async () => {
            const m = await remoteMap();
            if (typeof m === "string") {
              seen = m;
              return undefined;
            }
            const bulk = podNames(m).filter((n) => n.startsWith("bulk-node1-")).length;
            seen = `version ${m.version}, ${bulk} bulk pods on node1`;
            return bulk === 240 - versions ? m : undefined;
          },
          30_000,
          { detail: () => seen },
        );
        const produced = newest.value.version - versionBefore;
        expect(produced).toBeGreaterThanOrEqual(10);
        const grownKb = rssKb(child.pid) - before;
        // Held for the slow page: nothing but its socket. Had every missed map been queued for it,
        // the server would hold produced × mapBytes (~100 MB).
        expect(grownKb * 1024).toBeLessThan((produced * mapBytes) / 3);
        expect(grownKb).toBeLessThan(40 * 1024);
        slow.stdin.write("read\n");
        slow.stdin.end();
        let slowSaid = "";
        for (let chunk = await slowOut.read(); !chunk.done; chunk = await slowOut.read())
          slowSaid += new TextDecoder().decode(chunk.value);
        const counted = Number(slowSaid.trim().split("\n").pop());
        // It skipped to the newest: far fewer maps than versions.
        expect(counted).toBeGreaterThan(0);
        expect(counted).toBeLessThanOrEqual(Math.max(3, produced / 3));
      } finally {
        slow.kill();
        await slow.exited;
      }
    } finally {
      child.kill();
      await child.exited;
    }
  }, 240_000);
});
