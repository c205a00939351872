/**
 * A node whose agent restarts with another backend, on the agent tests' underlay (node1 and node2
 * on lan1, `pntest-<id>-…` namespaces): node2 runs vxlan throughout; node1's agent is stopped and
 * started again with another backend. What the earlier backend left on node1 goes (as flannel
 * removes its device when the backend changes): vxlan → bgp or host-gw deletes the VXLAN device
 * with its neighbours, FDB entries and tunnel routes; bgp → vxlan shuts down a BIRD the bgp agent
 * left running and deletes BIRD's kernel routes to cluster blocks, leaving other routes alone.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VXLAN_DEV } from "../../src/agent/vxlan-device.ts";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { BIRD_BINARY, type BirdHandle, startBird } from "../../src/linux/bird-process.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { agentLog, logTail } from "./harness/agent-log.ts";
import type { AgentProcess } from "./harness/cluster-agent.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { useTestCluster } from "./harness/test-cluster.ts";

describe("podnet agent, a node switching backends", () => {
  const cluster = useTestCluster(2);
  const agents: AgentProcess[] = [];
  const logs = () => agents.map((a) => `--- ${a.node.name}\n${logTail(a)}`).join("\n");
  const start = async (node: string, backend: Backend) => {
    const a = cluster().startAgent(node, { backend, leaseTtl: 5, resync: 1 });
    agents.push(a);
    await cluster().waitReady(a);
    return a;
  };
  const logged = (a: AgentProcess, msg: string) => agentLog(a).filter((l) => l.msg.startsWith(msg));
  const DEVICE_DELETED = "deleted the VXLAN device an earlier backend left";
  const BGP_CLEARED = "cleared what an earlier bgp agent left";
  const block2 = () => cluster().blockOf("node2");

  /** node1 on vxlan: the device, its neighbour and FDB entry, and the tunnel route to node2. */
  const tunnelled = async () => {
    const c = cluster();
    const a = await start("node1", "vxlan");
    await pollUntil(
      "node1's tunnel route to node2's block",
      () => c.routeTo("node1", block2())?.dev === VXLAN_DEV,
      10_000,
      { detail: logs },
    );
    expect(c.hasVxlan("node1")).toBe(true);
    expect(c.neighs("node1").length).toBe(1);
    expect(c.fdb("node1").some((f) => f.state === "permanent" && f.dst !== undefined)).toBe(true);
    return a;
  };

  beforeAll(async () => {
    await start("node2", "vxlan");
  });

  test("vxlan → bgp deletes the VXLAN device and the tunnel routes; vxlan → host-gw routes directly", async () => {
    const c = cluster();
    expect(await c.stopAgent(await tunnelled())).toBe(0);
    // No BgpConfig: no BIRD either, and so nothing routes node2's block on node1.
    const bgp = await start("node1", "bgp");
    // Ready means the first route sync ran: the device (with its neighbours, FDB entries and the
    // routes through it) is gone by then.
    expect(c.hasVxlan("node1")).toBe(false);
    expect(c.peerRoutes("node1")).toEqual([]);
    expect(logged(bgp, DEVICE_DELETED).length).toBe(1);
    const conf = JSON.parse(readFileSync(c.node("node1").conflistPath, "utf8")) as {
      plugins: { mtu?: number }[];
    };
    expect(conf.plugins[0]?.mtu).toBe(1500);
    expect(await c.stopAgent(bgp)).toBe(0);

    expect(await c.stopAgent(await tunnelled())).toBe(0);
    const hostGw = await start("node1", "host-gw");
    expect(c.hasVxlan("node1")).toBe(false);
    expect(logged(hostGw, DEVICE_DELETED).length).toBe(1);
    await pollUntil(
      "node1's direct route to node2's block",
      () => c.routeTo("node1", block2())?.dev === "eth0",
      10_000,
      { detail: logs },
    );
    expect(c.peerRoutes("node1")).toEqual([
      expect.objectContaining({ dst: block2(), gateway: addressOf(c.node("node2")), dev: "eth0" }),
    ]);
    // A restart on the same backend has nothing to delete.
    expect(await c.stopAgent(hostGw)).toBe(0);
    const again = await start("node1", "host-gw");
    expect(logged(again, DEVICE_DELETED)).toEqual([]);
    expect(await c.stopAgent(again)).toBe(0);
  });

  test.skipIf(!existsSync(BIRD_BINARY))(
    "bgp → vxlan shuts down a BIRD left running and deletes BIRD's routes to cluster blocks only",
    async () => {
      const c = cluster();
      const ns = c.node("node1").netns;
      // What a bgp agent killed with SIGKILL leaves: its BIRD on the node's control socket, and
      // (after a graceful-restart stop) BIRD's kernel routes.
      const dir = join(c.node("node1").stateDir, "bgp");
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const configPath = join(dir, "bird.conf");
      writeFileSync(configPath, "router id 192.0.2.11;\nprotocol device {}\n", { mode: 0o600 });
      let leftover: BirdHandle | undefined;
      try {
        leftover = await startBird({
          netns: ns,
          configPath,
          ctlPath: join(dir, "bird.ctl"),
          pidPath: join(dir, "bird.pid"),
        });
        const stale = "10.244.250.0/24";
        const foreign = "203.0.113.0/24";
        for (const dst of [stale, foreign])
          mustRunSync([
            "ip",
            "-n",
            ns,
            "route",
            "add",
            dst,
            "via",
            "192.0.2.1",
            "proto",
            "bird",
            "metric",
            "32",
          ]);
        const birdRoutes = () =>
          mustRunSync(["ip", "-n", ns, "-4", "route", "show", "proto", "bird"]).stdout.trim();

        const vxlan = await start("node1", "vxlan");
        // The agent cleared them before it was ready (the old BIRD's socket no longer answered).
        const bird = leftover;
        await pollUntil("the BIRD left running to exit", () => !bird.running, 5000, { detail: logs });
        expect(birdRoutes()).not.toContain(stale);
        expect(birdRoutes()).toContain(`${foreign} via 192.0.2.1`);
        expect(logged(vxlan, BGP_CLEARED)).toEqual([
          expect.objectContaining({
            fields: expect.objectContaining({ retiredBird: true, deletedRoutes: [stale] }),
          }),
        ]);
        await pollUntil(
          "node1's tunnel route to node2's block",
          () => c.routeTo("node1", block2())?.dev === VXLAN_DEV,
          10_000,
          { detail: logs },
        );
        expect(await c.stopAgent(vxlan)).toBe(0);
      } finally {
        await leftover?.stop(2000);
      }
    },
  );
});
