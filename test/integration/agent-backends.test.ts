/**
 * The forced backends on the same underlay as agent-routes (node1 and node2 on one segment, node3
 * behind a router): `host-gw` routes only to peers on its own segment and says which peer blocks
 * it cannot route; `vxlan` tunnels to every peer, the neighbour on its own segment included. For
 * each, pods on different nodes talk TCP and the receiver sees the sender's pod IP.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { agentLog, logTail } from "./harness/agent-log.ts";
import type { AgentProcess } from "./harness/cluster-agent.ts";
import { ipJsonIn } from "./harness/kernel-state.ts";
import { rejection } from "./harness/rejection.ts";
import { type PathKind, routeProblems } from "./harness/route-problems.ts";
import { type ClusterPod, useTestCluster } from "./harness/test-cluster.ts";

const NODES = ["node1", "node2", "node3"] as const;
const lan1 = new Set(["node1", "node2"]);

interface BackendCase {
  readonly backend: Backend;
  readonly mtu: number;
  readonly path: (from: string, to: string) => PathKind;
  /** Pod pairs (by node) that must connect; every other cross-node pair must not. */
  readonly reachable: readonly (readonly [string, string])[];
}

const CASES: readonly BackendCase[] = [
  {
    backend: "host-gw",
    mtu: 1500,
    path: (from, to) => (lan1.has(from) && lan1.has(to) ? "direct" : "none"),
    reachable: [
      ["node1", "node2"],
      ["node2", "node1"],
    ],
  },
  {
    backend: "vxlan",
    mtu: 1450,
    path: () => "vxlan",
    reachable: [
      ["node1", "node2"],
      ["node2", "node1"],
      ["node1", "node3"],
      ["node3", "node1"],
      ["node2", "node3"],
      ["node3", "node2"],
    ],
  },
];

for (const k of CASES) {
  describe(`podnet agent, ${k.backend} backend`, () => {
    const cluster = useTestCluster(3);
    const agents = new Map<string, AgentProcess>();
    const pods = new Map<string, ClusterPod>();
    const logs = () => [...agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a)}`).join("\n");

    beforeAll(async () => {
      const c = cluster();
      for (const n of NODES) agents.set(n, c.startAgent(n, { backend: k.backend, leaseTtl: 5, resync: 1 }));
      await Promise.all([...agents.values()].map((a) => c.waitReady(a)));
    });

    test("routes each peer the way the backend allows", async () => {
      const c = cluster();
      let last: string[] = [];
      await pollUntil(
        "the expected peer routes",
        () => {
          last = routeProblems(c, NODES, k.path);
          return last.length === 0;
        },
        5000,
        { detail: () => `${last.join("\n")}\n${logs()}` },
      );
      for (const n of NODES) {
        expect(c.hasVxlan(n)).toBe(k.backend === "vxlan");
        const conf = JSON.parse(readFileSync(c.node(n).conflistPath, "utf8")) as {
          plugins: { mtu?: number }[];
        };
        expect(conf.plugins[0]?.mtu).toBe(k.mtu);
      }
    });

    if (k.backend === "host-gw") {
      test("a peer on another segment is not routed, and the agent says so", async () => {
        const c = cluster();
        const b3 = c.blockOf("node3");
        const skips = (n: string) =>
          agentLog(agents.get(n) as AgentProcess).filter((l) => l.msg === "peer block not routed");
        // A node that synced before a peer announced itself says so at its next resync (1 s).
        await pollUntil(
          "every node naming the peers it cannot route",
          () =>
            ["node1", "node2"].every((n) => skips(n).some((l) => l.fields.peer === "node3")) &&
            ["node1", "node2"].every((p) => skips("node3").some((l) => l.fields.peer === p)),
          5000,
          { detail: logs },
        );
        for (const n of ["node1", "node2"]) {
          const skipped = skips(n).find((l) => l.fields.peer === "node3");
          expect(skipped).toMatchObject({ level: "warn", fields: { block: b3 } });
          expect(String(skipped?.fields.reason)).toContain("not on a directly connected subnet");
          expect(skips(n).every((l) => l.fields.peer === "node3")).toBe(true);
        }
        expect(skips("node3").every((l) => l.fields.peer === "node1" || l.fields.peer === "node2")).toBe(
          true,
        );
        const text = await c.metrics("node1");
        expect(metricValue(text, 'podnet_agent_peer_routes{route="skipped"}')).toBe(1);
        expect(metricValue(text, 'podnet_agent_peer_routes{route="direct"}')).toBe(1);
      });
    }

    test("pods on different nodes connect over TCP and the receiver sees the sender's pod IP", async () => {
      const c = cluster();
      for (const n of NODES) pods.set(n, await c.addPod(n));
      const pod = (n: string) => pods.get(n) as ClusterPod;
      for (const [from, to] of k.reachable) {
        const probe = await c.probe(pod(from).netns, pod(to).ip);
        expect(probe.reply).toMatchObject({ pod: pod(to).name, ip: pod(to).ip, from: pod(from).ip });
      }
      for (const from of NODES) {
        for (const to of NODES) {
          if (from === to || k.reachable.some(([a, b]) => a === from && b === to)) continue;
          expect((await rejection(c.probe(pod(from).netns, pod(to).ip, 500))).message).toContain("failed");
        }
      }
      const dev = ipJsonIn<{ dev?: string }>(c.node("node1").netns, ["route", "get", pod("node2").ip])[0]
        ?.dev;
      expect(dev).toBe(k.backend === "vxlan" ? "podnet-vx" : "eth0");
    });
  });
}
