import { describe, expect, test } from "bun:test";
import {
  LabDiagnosisError,
  labExplainArgv,
  labNamesOf,
  labServiceNamed,
  labTraceArgv,
  translateExplainTarget,
  translateTraceArgs,
} from "./lab-diagnosis.ts";
import type { LabState } from "./lab-state.ts";

const pod = (name: string, node: string, address: unknown) => ({
  name,
  node,
  netns: `pnlab-t-${name}`,
  netnsPath: `/run/netns/pnlab-t-${name}`,
  containerId: `c-${name}`,
  ifname: "eth0",
  result: address === undefined ? {} : { cniVersion: "1.0.0", ips: [{ address }] },
  echoPid: 1,
});

const labNode = (name: string, address: string) => ({
  name,
  netns: `pnlab-t-${name}`,
  address,
  segment: "lan1",
  gateway: "192.0.2.1",
  podCidrs: [],
  conflist: {} as LabState["nodes"][number]["conflist"],
  agentPid: 1,
  stateDir: "/tmp/x",
});

const state: LabState = {
  id: "t",
  dir: "/run/podnet-lab/t",
  binDir: "/run/podnet-lab/t/bin",
  cniPath: [],
  createdAt: "2026-12-06T10:00:00.000Z",
  backend: "auto",
  datastore: "etcd://192.0.2.250:2379",
  external: { netns: "pnlab-t-external", address: "203.0.113.100/24" },
  nodes: [
    labNode("node1", "192.0.2.11/24"),
    labNode("node2", "192.0.2.12/24"),
    labNode("node3", "198.51.100.13/24"),
  ],
  pods: [
    pod("node1-a", "node1", "10.244.1.2/24"),
    pod("node2-a", "node2", "10.244.2.2/24"),
    pod("broken", "node2", undefined),
  ],
};

const names = labNamesOf(state, { echo: "10.96.0.10" });

describe("lab names", () => {
  test("read from the lab state: pod addresses from their CNI results, bare node and external addresses", () => {
    expect(names.pods).toEqual([
      { name: "node1-a", ip: "10.244.1.2" },
      { name: "node2-a", ip: "10.244.2.2" },
      { name: "broken" },
    ]);
    expect(names.nodes).toEqual([
      { name: "node1", ip: "192.0.2.11" },
      { name: "node2", ip: "192.0.2.12" },
      { name: "node3", ip: "198.51.100.13" },
    ]);
    expect(names.external).toEqual({ ip: "203.0.113.100", netns: "pnlab-t-external" });
    expect(names.services).toEqual([
      { name: "echo", ref: "default/echo", clusterIP: "10.96.0.10" },
      { name: "no-endpoints", ref: "default/no-endpoints" },
    ]);
  });

  test("explain: every lab name becomes an address, a port is kept, anything else passes through", () => {
    const cases: [string, string][] = [
      ["node1-a", "10.244.1.2"],
      ["node2", "192.0.2.12"],
      ["node1:30080", "192.0.2.11:30080"],
      ["external", "203.0.113.100"],
      ["echo", "10.96.0.10"],
      ["echo:80", "10.96.0.10:80"],
      ["10.244.1.9", "10.244.1.9"],
      ["192.0.2.11:30080", "192.0.2.11:30080"],
      ["[2001:db8::1]:80", "[2001:db8::1]:80"],
      ["somebody-else", "somebody-else"],
    ];
    for (const [text, want] of cases) expect(translateExplainTarget(names, text)).toBe(want);
    expect(() => translateExplainTarget(names, "broken")).toThrow(LabDiagnosisError);
    expect(() => translateExplainTarget(names, "no-endpoints")).toThrow(/no known ClusterIP/);
  });

  test("explain fetches a ClusterIP only for a Service name", () => {
    expect(labServiceNamed("echo")).toBe("echo");
    expect(labServiceNamed("no-endpoints:80")).toBe("no-endpoints");
    expect(labServiceNamed("node1-a")).toBeUndefined();
    expect(labServiceNamed("10.96.0.10")).toBeUndefined();
  });

  test("trace: pods by namespace/name (by address with a port), nodes by name (by IP for a NodePort)", () => {
    const cases: [string, string, string, string][] = [
      ["node1-a", "node2-a", "default/node1-a", "default/node2-a"],
      ["node1-a", "node2-a:8080/udp", "default/node1-a", "10.244.2.2:8080/udp"],
      ["node1-a", "echo:80/tcp", "default/node1-a", "default/echo:80/tcp"],
      ["node1-a", "echo:80", "default/node1-a", "default/echo:80"],
      ["node1-a", "no-endpoints:80", "default/node1-a", "default/no-endpoints:80"],
      ["node1-a", "external:8080", "default/node1-a", "203.0.113.100:8080"],
      ["node1", "node3-b", "node1", "node3-b"],
      ["node2", "node1:30080/udp", "node2", "192.0.2.11:30080/udp"],
      ["node1-a", "10.96.0.10:80", "default/node1-a", "10.96.0.10:80"],
      ["kube-system/dns", "1.1.1.1/icmp", "kube-system/dns", "1.1.1.1/icmp"],
    ];
    for (const [src, dst, wantSrc, wantDst] of cases)
      expect(translateTraceArgs(names, src, dst)).toEqual({
        source: wantSrc,
        destination: wantDst,
        flags: [],
      });
  });

  test("trace from external: its address, and the namespace to send the probe from", () => {
    for (const source of ["external", "203.0.113.100"])
      expect(translateTraceArgs(names, source, "node1:30080")).toEqual({
        source: "203.0.113.100",
        destination: "192.0.2.11:30080",
        flags: ["--external-probe-netns", "pnlab-t-external"],
      });
  });

  test("the plain command runs in the first node with the lab's CLI and datastore", () => {
    expect(labExplainArgv(state, names, "node1-a", { json: true })).toEqual([
      "ip",
      "netns",
      "exec",
      "pnlab-t-node1",
      "/run/podnet-lab/t/podnet",
      "explain",
      "10.244.1.2",
      "--datastore",
      "etcd://192.0.2.250:2379",
      "--json",
    ]);
    expect(
      labTraceArgv(state, names, "external", "node1:30080", {
        json: false,
        noProbe: true,
        timeoutMs: "5000",
      }),
    ).toEqual([
      "ip",
      "netns",
      "exec",
      "pnlab-t-node1",
      "/run/podnet-lab/t/podnet",
      "trace",
      "203.0.113.100",
      "192.0.2.11:30080",
      "--datastore",
      "etcd://192.0.2.250:2379",
      "--external-probe-netns",
      "pnlab-t-external",
      "--no-probe",
      "--timeout-ms",
      "5000",
    ]);
  });
});
