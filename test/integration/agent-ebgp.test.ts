/**
 * eBGP per rack: every segment is a rack with its own AS (lan1 AS 65001: node1 and node2; lan2 AS
 * 65002: node3), each rack peering with its top-of-rack router in AS 64500 — the router's BIRD
 * configured here by hand, the way an operator would configure a ToR (one dynamic eBGP neighbour
 * range per rack), not by podnet. The peering config gives each rack's peer its `localAsNumber`
 * and, for the rack with two nodes, `allowLocalAs` (a route from node1 reaches node2 with AS path
 * 64500 65001, which holds node2's own AS: without it node2 must refuse it as a loop).
 * Rack 2's sessions carry a TCP MD5 password, set in the peering config and on the ToR.
 * Checked on real kernels and packets: the router learns every node's block over eBGP from that
 * node's AS; node3 gets node1's block with AS path 64500 65001; pods across racks and inside a
 * rack reach each other by their pod IPs; turning allowLocalAs off on the running cluster makes
 * node2 drop node1's block (and only that), turning it on brings it back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { BgpConfig } from "../../src/cluster/bgp-config.ts";
import { updateBgpConfig } from "../../src/cluster/bgp-config-store.ts";
import { birdCommand, replyText } from "../../src/linux/bird-control.ts";
import { type AgentProcess, CLUSTER_CIDR } from "./harness/cluster-agent.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { BIRD, birdRoutes, RouterBird } from "./harness/router-bird.ts";
import { type ClusterPod, useTestCluster } from "./harness/test-cluster.ts";

const NODES = ["node1", "node2", "node3"] as const;
const ROUTER_AS = 64500;
const RACK_AS: Readonly<Record<string, number>> = { lan1: 65001, lan2: 65002 };
/** Rack 2's sessions are signed (TCP MD5, RFC 2385): the ToR refuses node3 unless its agent renders it. */
const RACK2_PASSWORD = "rack-2 s3cret!";

/** The peering: one peer per rack router, the rack's own AS towards it. */
function rackPeering(allowLocalAs: boolean): BgpConfig {
  return {
    asNumber: 64512,
    holdTimeSeconds: 9,
    keepaliveSeconds: 3,
    gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
    vpcCidrs: [],
    peers: [
      {
        name: "tor-rack1",
        address: "192.0.2.1",
        asNumber: ROUTER_AS,
        localAsNumber: RACK_AS.lan1 as number,
        allowLocalAs,
      },
      {
        name: "tor-rack2",
        address: "198.51.100.1",
        asNumber: ROUTER_AS,
        localAsNumber: RACK_AS.lan2 as number,
        password: RACK2_PASSWORD,
      },
    ],
  };
}

/** The ToR's BIRD as an operator writes it: eBGP to each rack's range, pod blocks only, into its kernel. */
function torConfig(): string {
  return [
    "router id 192.0.2.1;",
    "log stderr all;",
    "protocol device { scan time 5; }",
    "protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }",
    `filter pod_blocks { if net ~ [ ${CLUSTER_CIDR}{24,32} ] then accept; reject; }`,
    "template bgp rack {",
    "  hold time 9;",
    "  keepalive time 3;",
    "  connect delay time 1;",
    "  ipv4 { import filter pod_blocks; export filter pod_blocks; };",
    "}",
    `protocol bgp rack1 from rack { local 192.0.2.1 as ${ROUTER_AS}; neighbor range 192.0.2.0/24 as ${RACK_AS.lan1}; dynamic name "rack1_"; }`,
    `protocol bgp rack2 from rack { local 198.51.100.1 as ${ROUTER_AS}; neighbor range 198.51.100.0/24 as ${RACK_AS.lan2}; dynamic name "rack2_"; password "${RACK2_PASSWORD}"; }`,
    "",
  ].join("\n");
}

describe.skipIf(!existsSync(BIRD))(
  "podnet agent, bgp backend, eBGP per rack with a hand-configured ToR",
  () => {
    const cluster = useTestCluster(3);
    const agents = new Map<string, AgentProcess>();
    const pods = new Map<string, ClusterPod>();
    const router = new RouterBird(agents);

    const pod = (n: string) => pods.get(n) as ClusterPod;
    const nodeRoutes = (n: string, block: string) => birdRoutes(cluster().node(n).netns, block);
    const birdShow = async (n: string, what: string) =>
      replyText(
        await birdCommand(join(cluster().node(n).stateDir, "bgp", "bird.ctl"), what, { timeoutMs: 5000 }),
      );
    const detail = router.detail;

    beforeAll(async () => {
      const c = cluster();
      await router.start(c, rackPeering(true), "tor", torConfig());
      for (const n of NODES) agents.set(n, c.startAgent(n, { backend: "bgp", leaseTtl: 5, resync: 1 }));
      await Promise.all(NODES.map((n) => c.waitReady(agents.get(n) as AgentProcess, 30_000)));
      await pollUntil(
        "every node's block in the ToR's kernel",
        () => NODES.every((n) => router.routes(c.blockOf(n)) !== ""),
        30_000,
        { detail },
      );
    });

    afterAll(() => router.tearDown());

    test("the ToR learns each node's block over eBGP from the node's rack AS, via that node", async () => {
      const c = cluster();
      const tor = join(c.dir, "tor.ctl");
      for (const n of NODES) {
        const block = c.blockOf(n);
        expect(router.routes(block)).toContain(`${block} via ${addressOf(c.node(n))} `);
        const rack = RACK_AS[c.node(n).segment] as number;
        const shown = replyText(await birdCommand(tor, `show route ${block} all`, { timeoutMs: 5000 }));
        // The AS path is the node's rack AS alone: eBGP from the node, nothing reflected.
        expect(shown).toMatch(new RegExp(`BGP\\.as_path: ${rack}\\s*\\n`));
      }
    });

    test("node3 (rack 2) learns node1's block through the ToR with AS path 64500 65001", async () => {
      const c = cluster();
      const b1 = c.blockOf("node1");
      await pollUntil("node3's BGP route to node1's block", () => nodeRoutes("node3", b1) !== "", 20_000, {
        detail,
      });
      expect(nodeRoutes("node3", b1)).toContain(`${b1} via 198.51.100.1 dev eth0`);
      expect(await birdShow("node3", `show route ${b1} all`)).toMatch(
        new RegExp(`BGP\\.as_path: ${ROUTER_AS} ${RACK_AS.lan1}\\s*\\n`),
      );
    });

    test("pods across racks and inside a rack reach each other by their pod IPs", async () => {
      const c = cluster();
      for (const n of NODES) pods.set(n, await c.addPod(n));
      for (const [from, to] of [
        ["node1", "node3"],
        ["node3", "node1"],
        ["node1", "node2"],
      ] as const) {
        await pollUntil(
          `${from}'s pod reaching ${to}'s pod`,
          async () => (await c.probe(pod(from).netns, pod(to).ip, 1000).catch(() => undefined)) !== undefined,
          20_000,
          { detail },
        );
        const probe = await c.probe(pod(from).netns, pod(to).ip);
        expect(probe.reply).toMatchObject({ pod: pod(to).name, ip: pod(to).ip, from: pod(from).ip });
      }
    });

    test("allowLocalAs decides whether node2 takes its own rack's routes; changed on the running cluster", async () => {
      const c = cluster();
      const b1 = c.blockOf("node1");
      const b3 = c.blockOf("node3");
      // With allowLocalAs, node2 holds node1's block although its AS path (64500 65001) holds 65001.
      expect(nodeRoutes("node2", b1)).not.toBe("");
      const setAllow = async (allow: boolean) => {
        const store = await c.openStore();
        try {
          await updateBgpConfig(store, () => rackPeering(allow));
        } finally {
          await store.close();
        }
      };
      await setAllow(false);
      await pollUntil(
        "node2 refusing node1's block as an AS-path loop",
        () => nodeRoutes("node2", b1) === "",
        30_000,
        {
          detail,
        },
      );
      // Only the looping route goes: node3's block (AS path 64500 65002) is still taken.
      await pollUntil("node2 holding node3's block", () => nodeRoutes("node2", b3) !== "", 30_000, {
        detail,
      });
      // node1's session restarts with the new option too: it gets node3's block back over it.
      await pollUntil("node1 holding node3's block", () => nodeRoutes("node1", b3) !== "", 30_000, {
        detail,
      });
      await setAllow(true);
      await pollUntil("node1's block back on node2", () => nodeRoutes("node2", b1) !== "", 30_000, {
        detail,
      });
      await pollUntil(
        "node1's pod reaching node2's pod again",
        async () =>
          (await c.probe(pod("node1").netns, pod("node2").ip, 1000).catch(() => undefined)) !== undefined,
        20_000,
        { detail },
      );
    });
  },
);
