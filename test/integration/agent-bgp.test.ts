/**
 * `podnet agent --backend bgp` against a router running BIRD, on the agent tests' underlay (lan1
 * and lan2 joined by a router, `pntest-<id>-…` namespaces of a TestRun): node1 on lan1 and node3
 * on lan2 each run an agent, which runs the node's BIRD; the router's BIRD is the lab's
 * (renderLabRouterBird: dynamic neighbours per segment, route reflector) started with startBird in
 * the router's namespace. Checked: each node's block reaches the router's kernel via that node's
 * IP (proto bird) and the other node's kernel; pods on the two segments reach each other with no
 * VXLAN device and see each other's pod IPs; the session shows in the metrics and in the node's
 * status record; a BgpConfig change (hold time) reconfigures BIRD and the session comes back; a
 * node IP change moves the router's route; an agent's stop withdraws its block at once and
 * deletes its status record; afterwards no BIRD runs, in the root namespace or anywhere of ours.
 * Convergence and withdrawal times are measured and printed, not asserted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import { readBgpConfig, updateBgpConfig } from "../../src/cluster/bgp-config-store.ts";
import { listBgpStatusRecords } from "../../src/cluster/bgp-status-records.ts";
import { labBgpConfig, labRouterBirdInput, renderLabRouterBird } from "../../src/lab/lab-router-bird.ts";
import { birdCommand, replyText } from "../../src/linux/bird-control.ts";
import { birdsInRootNetns } from "../../src/linux/bird-process.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { netnsPids } from "../../src/linux/netns.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { type AgentProcess, CLUSTER_CIDR } from "./harness/cluster-agent.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { ipJsonIn } from "./harness/kernel-state.ts";
import { BIRD, birdsUsing, RouterBird } from "./harness/router-bird.ts";
import { type ClusterPod, useTestCluster } from "./harness/test-cluster.ts";

/** One node on each segment: node1 on lan1 (192.0.2.0/24), node3 behind the router on lan2. */
const NODES = ["node1", "node3"] as const;
const SESSION_UP = (neighbor: string, peer: string) =>
  `podnet_bgp_session_up{peer="${peer}",neighbor="${neighbor}"}`;

describe.skipIf(!existsSync(BIRD))("podnet agent, bgp backend, peering with a router's BIRD", () => {
  const cluster = useTestCluster(3);
  const agents = new Map<string, AgentProcess>();
  const pods = new Map<string, ClusterPod>();
  const router = new RouterBird(agents);

  const agent = (n: string) => agents.get(n) as AgentProcess;
  const pod = (n: string) => pods.get(n) as ClusterPod;
  const detail = router.detail;
  const birdPid = (n: string) => {
    const path = join(cluster().node(n).stateDir, "bgp", "bird.pid");
    return existsSync(path) ? Number(readFileSync(path, "utf8").trim()) : undefined;
  };
  const running = (pid: number | undefined) => pid !== undefined && existsSync(`/proc/${pid}`);
  const startAgent = (n: string) => {
    const a = cluster().startAgent(n, { backend: "bgp", leaseTtl: 5, resync: 1 });
    agents.set(n, a);
    return a;
  };

  beforeAll(async () => {
    const c = cluster();
    const topology = {
      segments: c.topology.segments,
      nodes: c.topology.nodes.filter((n) => n.name !== "node2"),
    };
    const bgp = labBgpConfig(topology);
    await router.start(
      c,
      bgp,
      "router",
      renderLabRouterBird(labRouterBirdInput(topology, bgp, [CLUSTER_CIDR])),
    );
    const started = Date.now();
    for (const n of NODES) startAgent(n);
    await Promise.all(NODES.map((n) => c.waitReady(agent(n), 30_000)));
    // Convergence: both blocks in the router's kernel, measured from the agents' start.
    await pollUntil(
      "both nodes' blocks in the router's kernel",
      () => NODES.every((n) => router.routes(c.blockOf(n)) !== ""),
      30_000,
      { detail },
    );
    console.log(
      `bgp: both blocks in the router's kernel ${Date.now() - started} ms after the agents started`,
    );
  });

  afterAll(async () => {
    // Nor any BIRD of this test's files (the nodes' and the router's), in any namespace.
    await router.tearDown((c) => expect(birdsUsing(c.dir)).toEqual([]));
  });

  test("each node's block is in the router's kernel via that node's IP, from BIRD, and in the other node's", () => {
    const c = cluster();
    for (const n of NODES) {
      const block = c.blockOf(n);
      expect(router.routes(block)).toContain(`${block} via ${addressOf(c.node(n))} `);
      // Nothing of podnet's own: no proto 200 route, no VXLAN device, the uplink's MTU for pods.
      expect(c.peerRoutes(n)).toEqual([]);
      expect(c.hasVxlan(n)).toBe(false);
      const conf = JSON.parse(readFileSync(c.node(n).conflistPath, "utf8")) as {
        plugins: { mtu?: number }[];
      };
      expect(conf.plugins[0]?.mtu).toBe(1500);
      expect(running(birdPid(n))).toBe(true);
      expect(netnsPids(c.node(n).netns)).toContain(birdPid(n) as number);
    }
    const b3 = c.blockOf("node3");
    // node1 learns node3's block reflected by the router; its next hop (on lan2) resolves via the router.
    const onNode1 = mustRunSync([
      "ip",
      "-n",
      c.node("node1").netns,
      "route",
      "show",
      b3,
      "proto",
      "bird",
    ]).stdout;
    expect(onNode1).toContain(`${b3} via 192.0.2.1 dev eth0`);
  });

  test("pods on the two segments reach each other with no VXLAN device, by their pod IPs", async () => {
    const c = cluster();
    for (const n of NODES) pods.set(n, await c.addPod(n));
    for (const [from, to] of [
      ["node1", "node3"],
      ["node3", "node1"],
    ] as const) {
      const probe = await c.probe(pod(from).netns, pod(to).ip);
      expect(probe.reply).toMatchObject({ pod: pod(to).name, ip: pod(to).ip, from: pod(from).ip });
      const got = ipJsonIn<{ dev?: string; gateway?: string }>(c.node(from).netns, [
        "route",
        "get",
        pod(to).ip,
      ])[0];
      expect(got).toMatchObject({
        dev: "eth0",
        gateway: c.topology.segments.find((s) => s.name === c.node(from).segment)?.gateway,
      });
    }
  });

  test("the session is in the metrics and in each node's status record", async () => {
    const c = cluster();
    await pollUntil(
      "Established sessions in the status records",
      async () => {
        const store = await c.openStore();
        try {
          const { records } = await listBgpStatusRecords(store);
          return NODES.every((n) =>
            records.some(
              (r) =>
                r.node === n &&
                r.running &&
                r.announced.includes(c.blockOf(n)) &&
                r.sessions.some((s) => s.state === "Established" && s.advertised === 1),
            ),
          );
        } finally {
          await store.close();
        }
      },
      15_000,
      { detail },
    );
    // node1 learns node3's block through the router a moment after its own session is up, and the
    // agent polls BIRD every 2 s: wait until the metrics show it.
    let text = "";
    await pollUntil(
      "node1's metrics to count the route it learned",
      async () => {
        text = await c.metrics("node1");
        return (
          metricValue(text, 'podnet_bgp_routes{peer="router-lan1",family="ipv4",direction="imported"}') === 1
        );
      },
      15_000,
      { detail: () => text },
    );
    expect(metricValue(text, SESSION_UP("192.0.2.1", "router-lan1"))).toBe(1);
    // The session's age, from BIRD's local-time `since`: not older than node1's agent.
    const age = metricValue(
      text,
      'podnet_bgp_session_established_seconds{peer="router-lan1",neighbor="192.0.2.1"}',
    );
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual(Math.ceil((Date.now() - agent("node1").startedAt) / 1000));
    expect(metricValue(text, 'podnet_bgp_session_state{peer="router-lan1",state="Established"}')).toBe(1);
    expect(
      metricValue(text, 'podnet_bgp_routes{peer="router-lan1",family="ipv4",direction="exported"}'),
    ).toBe(1);
    expect(
      metricValue(text, 'podnet_bgp_routes{peer="router-lan1",family="ipv4",direction="imported"}'),
    ).toBe(1);
    expect(metricValue(text, 'podnet_agent_peer_routes{route="bgp"}')).toBe(1);
    expect(metricValue(text, 'podnet_bird_reloads_total{result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'podnet_agent_errors_total{kind="bgp"}')).toBe(0);
  });

  test("auto beside them keeps its own routes under BIRD's, at the backup metric", async () => {
    const c = cluster();
    const a2 = c.startAgent("node2", { backend: "auto", leaseTtl: 5, resync: 1 });
    agents.set("node2", a2);
    await c.waitReady(a2, 30_000);
    const b1 = c.blockOf("node1");
    const routes = () => mustRunSync(["ip", "-n", c.node("node2").netns, "route", "show", b1]).stdout;
    await pollUntil(
      `node2's routes to ${b1}: BIRD's and its own backup`,
      () => /proto bird metric 32/.test(routes()) && /proto 200 metric 1024/.test(routes()),
      20_000,
      { detail: () => `${routes()}\n${detail()}` },
    );
    expect(routes()).toContain(`${b1} via 192.0.2.11 dev eth0 proto bird metric 32`);
    expect(routes()).toContain(`${b1} via 192.0.2.11 dev eth0 proto 200 metric 1024`);
    // node3 runs bgp (no VXLAN device): only BIRD's route reaches it, through the router.
    const routesTo3 = () =>
      mustRunSync(["ip", "-n", c.node("node2").netns, "route", "show", c.blockOf("node3")]).stdout;
    await pollUntil(
      `node2's BGP route to node3's block`,
      () => routesTo3().includes("via 192.0.2.1 dev eth0 proto bird metric 32"),
      20_000,
      { detail: () => `${routesTo3()}\n${detail()}` },
    );
    const b3 = routesTo3();
    expect(b3).not.toContain("proto 200");
    const probe = await c.probe(pod("node3").netns, (await c.addPod("node2")).ip);
    expect(probe.reply.from).toBe(pod("node3").ip);
  });

  test("a BgpConfig change (hold time) reconfigures BIRD and the session comes back with it", async () => {
    const c = cluster();
    const reloads = async () =>
      metricValue(await c.metrics("node1"), 'podnet_bird_reloads_total{result="ok"}') ?? 0;
    const before = await reloads();
    // Below the router's 9 s, so the session negotiates it (BGP takes the smaller hold time).
    const holdTimer = async () => {
      const ctl = join(c.node("node1").stateDir, "bgp", "bird.ctl");
      const text = replyText(await birdCommand(ctl, "show protocols all", { timeoutMs: 5000 }));
      return /Established/.test(text) ? /Hold timer:\s+[\d.]+\/(\d+)/.exec(text)?.[1] : undefined;
    };
    expect(await holdTimer()).toBe("9");
    const store = await c.openStore();
    try {
      await updateBgpConfig(store, (current) => {
        if (!current) throw new Error("the test's BgpConfig is gone");
        return { ...current, holdTimeSeconds: 6, keepaliveSeconds: 2 };
      });
      expect((await readBgpConfig(store))?.holdTimeSeconds).toBe(6);
    } finally {
      await store.close();
    }
    const started = Date.now();
    await pollUntil(
      "node1's session Established with hold time 6",
      async () => (await holdTimer()) === "6",
      20_000,
      {
        detail,
      },
    );
    console.log(`bgp: hold time change applied and the session up with it in ${Date.now() - started} ms`);
    expect(readFileSync(join(c.node("node1").stateDir, "bgp", "bird.conf"), "utf8")).toContain(
      "hold time 6;",
    );
    expect(await reloads()).toBeGreaterThan(before);
    // The session restarted with the new timers: the router learns the block again.
    await pollUntil(
      "node1's block back in the router",
      () => router.routes(c.blockOf("node1")) !== "",
      20_000,
      {
        detail,
      },
    );
    expect(router.routes(c.blockOf("node1"))).toContain(`via ${addressOf(c.node("node1"))} `);
    await pollUntil(
      "node3's pod reaching node1's pod",
      async () =>
        (await c.probe(pod("node3").netns, pod("node1").ip, 1000).catch(() => undefined))?.reply.from,
      20_000,
      { detail },
    );
  });

  test("a node IP change moves the router's route to the new address", async () => {
    const c = cluster();
    const block = c.blockOf("node3");
    const old = addressOf(c.node("node3"));
    const moved = "198.51.100.23";
    const started = Date.now();
    c.moveAddress("node3", `${old}/24`, `${moved}/24`);
    await pollUntil(
      `the router's route to ${block} via ${moved} only`,
      () => {
        const routes = router.routes(block);
        return routes.includes(`via ${moved} `) && !routes.includes(`via ${old} `);
      },
      30_000,
      { detail },
    );
    console.log(
      `bgp: router route moved to the new node IP ${Date.now() - started} ms after the address moved`,
    );
    await pollUntil(
      "node1's pod reaching node3's pod again",
      async () => {
        const probe = await c.probe(pod("node1").netns, pod("node3").ip, 1000).catch(() => undefined);
        return probe?.reply.from === pod("node1").ip;
      },
      20_000,
      { detail },
    );
  });

  test("an agent's stop withdraws its block at once and deletes its status record; its BIRD is gone", async () => {
    const c = cluster();
    const block = c.blockOf("node1");
    const pid = birdPid("node1");
    expect(running(pid)).toBe(true);
    const started = Date.now();
    const exited = c.stopAgent(agent("node1"));
    const { ms } = await pollUntil(
      `${block} gone from the router`,
      () => router.routes(block) === "",
      15_000,
      {
        detail,
      },
    );
    expect(await exited).toBe(0);
    console.log(
      `bgp: the block left the router ${ms} ms after SIGTERM; the agent exited after ${Date.now() - started} ms`,
    );
    expect(running(pid)).toBe(false);
    expect(netnsPids(c.node("node1").netns)).not.toContain(pid);
    const store = await c.openStore();
    try {
      expect((await listBgpStatusRecords(store)).records.map((r) => r.node)).toEqual(["node2", "node3"]);
    } finally {
      await store.close();
    }
    // node3's kernel drops the block too (BIRD withdrew it there as well).
    await pollUntil(
      "node1's block gone from node3",
      () =>
        mustRunSync([
          "ip",
          "-n",
          c.node("node3").netns,
          "route",
          "show",
          block,
          "proto",
          "bird",
        ]).stdout.trim() === "",
      15_000,
      { detail },
    );
    expect(birdsInRootNetns()).toEqual([]);
  });
});
