import { describe, expect, test } from "bun:test";
import type { LabNode, LabPod, LabState } from "./lab-state.ts";
import { pluginCheckAll } from "./plugin-check.ts";

const node = (name: string): LabNode => ({
  name,
  netns: `pnlab-x-${name}`,
  address: "192.0.2.11/24",
  segment: "lan1",
  gateway: "192.0.2.1",
  podCidrs: ["10.244.0.0/24"],
  conflist: { cniVersion: "1.0.0", name: "podnet-lab", plugins: [{ type: "podnet" }] },
  agentPid: 1,
  stateDir: `/run/lab/${name}/state`,
});

const pod = (name: string, on: string): LabPod => ({
  name,
  node: on,
  netns: `pnlab-x-${name}`,
  netnsPath: `/run/netns/pnlab-x-${name}`,
  containerId: `lab-x-${name}`,
  ifname: "eth0",
  result: {},
  echoPid: 1,
});

const state = (nodes: LabNode[], pods: LabPod[]): LabState => ({
  id: "x",
  dir: "/run/lab",
  binDir: "/run/lab/bin",
  cniPath: ["/run/lab/bin"],
  createdAt: "2026-01-01T00:00:00.000Z",
  backend: "auto",
  datastore: "sqlite:/run/lab/cluster.db",
  external: { netns: "pnlab-x-external", address: "203.0.113.10/24" },
  nodes,
  pods,
});

describe("pluginCheckAll", () => {
  test("holds when CHECK passes for every pod, each checked on its own node", async () => {
    const checked: string[] = [];
    const v = await pluginCheckAll(
      state([node("node1"), node("node2")], [pod("node1-a", "node1"), pod("node2-a", "node2")]),
      async (_s, n, p) => {
        checked.push(`${p.name}@${n.name}`);
      },
    );
    expect(v).toMatchObject({ ok: true, evidence: "CHECK passed for 2 pods" });
    expect(checked).toEqual(["node1-a@node1", "node2-a@node2"]);
  });

  test("a pod whose node is missing fails the claim instead of being skipped", async () => {
    const v = await pluginCheckAll(
      state([node("node1")], [pod("node1-a", "node1"), pod("node2-a", "node2")]),
      async () => {},
    );
    expect(v.ok).toBe(false);
    expect(v.evidence).toBe("node2-a: its node node2 is not in the lab state");
  });

  test("a failed CHECK is named with the plugin's message", async () => {
    const v = await pluginCheckAll(state([node("node1")], [pod("node1-a", "node1")]), async () => {
      throw new Error('plugin podnet failed: CHECK: "eth0" has no address 10.244.0.2/24');
    });
    expect(v).toMatchObject({
      ok: false,
      evidence: 'node1-a: plugin podnet failed: CHECK: "eth0" has no address 10.244.0.2/24',
    });
  });
});
