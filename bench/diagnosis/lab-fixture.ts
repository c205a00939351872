/** A lab state shaped like the default 3-node lab's, for the diagnosis benchmark's unit tests (pure). */
import type { LabState } from "../../src/lab/lab-state.ts";

const node = (name: string, address: string, block: string) => ({
  name,
  netns: `pnlab-abc123-${name}`,
  address,
  segment: "lan1",
  gateway: "192.0.2.1",
  podCidrs: [block],
  conflist: { cniVersion: "1.0.0", name: "podnet", plugins: [] },
  agentPid: 1,
  stateDir: `/tmp/lab/${name}`,
});

const pod = (name: string, nodeName: string, ip: string) => ({
  name,
  node: nodeName,
  netns: `pnlab-abc123-${name}`,
  netnsPath: `/run/netns/pnlab-abc123-${name}`,
  containerId: `lab-abc123-${name}`,
  ifname: "eth0",
  result: { cniVersion: "1.0.0", ips: [{ address: `${ip}/24`, gateway: ip.replace(/\.\d+$/, ".1") }] },
  echoPid: 2,
});

export function labFixture(): LabState {
  return {
    id: "abc123",
    dir: "/tmp/lab/abc123",
    binDir: "/tmp/lab/abc123/bin",
    cniPath: ["/tmp/lab/abc123/bin"],
    createdAt: "2026-01-01T00:00:00.000Z",
    backend: "auto",
    datastore: "sqlite:/tmp/lab/abc123/cluster.db",
    external: { netns: "pnlab-abc123-external", address: "203.0.113.100/24" },
    nodes: [
      node("node1", "192.0.2.11/24", "10.244.0.0/24"),
      node("node2", "192.0.2.12/24", "10.244.10.0/24"),
      node("node3", "198.51.100.13/24", "10.244.4.0/24"),
    ],
    pods: [
      pod("node1-a", "node1", "10.244.0.2"),
      pod("node1-b", "node1", "10.244.0.3"),
      pod("node2-a", "node2", "10.244.10.2"),
      pod("node2-b", "node2", "10.244.10.3"),
      pod("node3-a", "node3", "10.244.4.2"),
      pod("node3-b", "node3", "10.244.4.3"),
    ],
  } as unknown as LabState;
}
