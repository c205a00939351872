import { describe, expect, test } from "bun:test";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { DUAL_ECHO_IP6, DUAL_SNAPSHOT } from "./fixtures/lab-dual.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { labPlan } from "./fixtures/trace-scenarios.ts";
import { predictTrace } from "./predict.ts";
import { resolveTarget } from "./target.ts";
import { defaultTraceProto, parseTraceDestination } from "./trace-destination.ts";
import { planTrace, TracePlanError } from "./trace-plan.ts";

describe("parseTraceDestination", () => {
  test("strips the protocol suffix, case-insensitively", () => {
    expect(parseTraceDestination("default/echo:80/udp")).toEqual({ target: "default/echo:80", proto: "udp" });
    expect(parseTraceDestination("10.244.3.2/ICMP")).toEqual({ target: "10.244.3.2", proto: "icmp" });
    expect(parseTraceDestination("[2001:db8::1]:80/tcp")).toEqual({
      target: "[2001:db8::1]:80",
      proto: "tcp",
    });
  });
  test("leaves a namespace/name alone", () => {
    expect(parseTraceDestination("default/node2-a")).toEqual({ target: "default/node2-a" });
  });
  test("refuses a bare protocol", () => {
    expect(() => parseTraceDestination("/tcp")).toThrow(TracePlanError);
  });
});

describe("defaultTraceProto", () => {
  test("tcp with a port, icmp without, the Service port's protocol for Services", () => {
    expect(defaultTraceProto(resolveTarget(LAB_SNAPSHOT, "node2-a:8080"))).toBe("tcp");
    expect(defaultTraceProto(resolveTarget(LAB_SNAPSHOT, "node2-a"))).toBe("icmp");
    expect(defaultTraceProto(resolveTarget(LAB_SNAPSHOT, "192.0.2.11:30772"))).toBe("udp");
    expect(defaultTraceProto(resolveTarget(LAB_SNAPSHOT, "default/echo:80"))).toBe("tcp");
  });
});

describe("planTrace", () => {
  test("pod → pod over VXLAN: both nodes, the pair and ports, both route lookups", () => {
    const plan = labPlan("node1-a", "default/node3-b:8080", 41000);
    expect(plan.spec.source).toEqual({ kind: "pod", node: "node1", namespace: "default", name: "node1-a" });
    expect(plan.spec.destination).toEqual({ ip: "10.244.8.3", port: 8080 });
    expect(plan.spec.match.pairs).toEqual([["10.244.0.2", "10.244.8.3"]]);
    expect(plan.spec.match.ports).toEqual([41000, 8080]);
    expect(plan.request.nodes).toEqual(["node1", "node3"]);
    expect(plan.spec.vxlanPeers).toEqual(["192.0.2.11", "198.51.100.13"]);
    expect(plan.request.routeLookups).toEqual([
      { dst: "10.244.8.3", from: "10.244.0.2", iif: "podnet0" },
      { dst: "10.244.0.2", from: "10.244.8.3", iif: "podnet0" },
    ]);
  });

  test("pod → ClusterIP: every endpoint's node, pairs to every endpoint, hairpin pairs, target ports", () => {
    const plan = labPlan("node1-a", "default/echo:80");
    expect(plan.request.nodes).toEqual(["node1", "node2", "node3"]);
    expect(plan.candidates.map((c) => c.ip)).toEqual([
      "10.244.0.2",
      "10.244.0.3",
      "10.244.3.2",
      "10.244.3.3",
      "10.244.8.2",
      "10.244.8.3",
    ]);
    expect(plan.spec.match.pairs).toContainEqual(["10.244.0.2", "10.102.49.235"]);
    expect(plan.spec.match.pairs).toContainEqual(["10.244.0.2", "10.244.8.3"]);
    // The pod reaching itself is masqueraded to its gateway.
    expect(plan.spec.match.pairs).toContainEqual(["10.244.0.1", "10.244.0.2"]);
    expect(plan.spec.match.ports).toEqual([40000, 80, 8080]);
    expect(plan.servicePort?.targetPort).toBe(8080);
    // A ClusterIP routes only after DNAT: no lookup towards it.
    expect(plan.request.routeLookups.some((q) => q.dst === "10.102.49.235")).toBe(false);
  });

  test("external → NodePort: the NodePort's node and the masquerade pairs of its addresses", () => {
    const plan = labPlan("203.0.113.100", "192.0.2.11:32032");
    expect(plan.spec.source).toEqual({ kind: "external", ip: "203.0.113.100" });
    expect(plan.request.nodes[0]).toBe("node1");
    expect(plan.spec.match.pairs).toContainEqual(["192.0.2.11", "10.244.8.3"]);
    expect(plan.spec.match.pairs).toContainEqual(["10.244.0.0", "10.244.8.3"]);
    expect(plan.spec.match.pairs.length).toBeLessThanOrEqual(64);
  });

  test("pod → external: the node's addresses pair with the outside address (masquerade)", () => {
    const plan = labPlan("node1-a", "203.0.113.100:8080");
    expect(plan.request.nodes).toEqual(["node1"]);
    expect(plan.spec.match.pairs).toContainEqual(["192.0.2.11", "203.0.113.100"]);
  });

  test("icmp carries no ports", () => {
    const plan = labPlan("node1-a", "node2-a");
    expect(plan.spec.proto).toBe("icmp");
    expect(plan.spec.match.ports).toEqual([]);
    expect(plan.spec.sourcePort).toBeUndefined();
  });

  test("a Service cannot be a source; tcp needs a port; a Service with two ports needs one named", () => {
    const echo = resolveTarget(LAB_SNAPSHOT, "default/echo:80");
    const pod = resolveTarget(LAB_SNAPSHOT, "node1-a");
    expect(() => planTrace(LAB_SNAPSHOT, echo, pod, "icmp", { sourcePort: 1, probeTimeoutMs: 1 })).toThrow(
      /a Service sends nothing/,
    );
    expect(() => labPlan("node1-a", "node2-a/tcp")).toThrow(/give a port/);
    expect(() =>
      planTrace(LAB_SNAPSHOT, pod, resolveTarget(LAB_SNAPSHOT, "10.102.49.235"), "tcp", {
        sourcePort: 40000,
        probeTimeoutMs: 1,
      }),
    ).not.toThrow();
    expect(() =>
      planTrace(LAB_SNAPSHOT, pod, resolveTarget(LAB_SNAPSHOT, "10.244.3.2:80"), "tcp", {
        sourcePort: 0,
        probeTimeoutMs: 1,
      }),
    ).toThrow(/source port 0/);
  });
});

describe("an address in a pod block without a pod record", () => {
  const withoutRecord = {
    ...LAB_SNAPSHOT,
    pods: LAB_SNAPSHOT.pods.filter((p) => !p.ips.includes("10.244.3.2")),
  };

  test("resolves with its block's owner, which is asked and on the path", () => {
    const to = resolveTarget(withoutRecord, "10.244.3.2:8080");
    expect(to).toMatchObject({
      kind: "external",
      ip: "10.244.3.2",
      block: { node: "node2", block: "10.244.3.0/24" },
    });
    const plan = planTrace(withoutRecord, resolveTarget(withoutRecord, "default/node1-a"), to, "tcp", {
      sourcePort: 40000,
      probeTimeoutMs: 2000,
    });
    expect(plan.request.nodes).toEqual(["node1", "node2"]);
    // Pod to pod: no masquerade to node1's addresses.
    expect(plan.spec.match.pairs).toEqual([["10.244.0.2", "10.244.3.2"]]);
  });

  test("a free address of a peer's block: the owner is asked too; prediction ends on node2, not at a silent node", () => {
    const to = resolveTarget(LAB_SNAPSHOT, "10.244.3.9:8080");
    const plan = planTrace(LAB_SNAPSHOT, resolveTarget(LAB_SNAPSHOT, "default/node1-a"), to, "tcp", {
      sourcePort: 40000,
      probeTimeoutMs: 2000,
    });
    expect(plan.request.nodes).toContain("node2");
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    expect(prediction.unknowns).toEqual([]);
    const last = prediction.paths[0]?.forward.at(-1);
    expect(last?.node).toBe("node2");
    expect(prediction.paths[0]?.drop?.reason).not.toBe("agent-missing");
  });
});

describe("planTrace with IPv6", () => {
  const plan = (snapshot: ClusterSnapshot, source: string, destination: string) => {
    const d = parseTraceDestination(destination);
    const to = resolveTarget(snapshot, d.target);
    return planTrace(snapshot, resolveTarget(snapshot, source), to, d.proto ?? defaultTraceProto(to), {
      sourcePort: 40000,
      probeTimeoutMs: 2000,
    });
  };
  const v4 = (ip: string) => ip.includes(".");
  /** The dual fixture without its IPv4 side: an IPv6-only cluster. */
  const V6_ONLY: ClusterSnapshot = {
    ...DUAL_SNAPSHOT,
    config: {
      ...DUAL_SNAPSHOT.config,
      clusterCidrs: DUAL_SNAPSHOT.config.clusterCidrs.filter((c) => !v4(c)),
      serviceCidrs: DUAL_SNAPSHOT.config.serviceCidrs.filter((c) => !v4(c)),
    },
    nodes: DUAL_SNAPSHOT.nodes.map((n) => ({
      ...n,
      nodeIPs: n.nodeIPs.filter((a) => !v4(a)),
      blocks: n.blocks.filter((b) => !v4(b)),
    })),
    blocks: DUAL_SNAPSHOT.blocks.filter((b) => !v4(b.block)),
    pods: DUAL_SNAPSHOT.pods.map((p) => ({ ...p, ips: p.ips.filter((a) => !v4(a)) })),
    services: DUAL_SNAPSHOT.services.map((v) => ({
      service: { ...v.service, clusterIPs: v.service.clusterIPs.filter((c) => !v4(c)) },
      endpoints: v.endpoints.filter((e) => !v4(e.ip)),
    })),
  };

  test("an IPv6-only cluster traces through VXLAN over the nodes' IPv6 addresses", () => {
    const p = plan(V6_ONLY, "default/node1-a", "default/node3-b:8080");
    expect(p.spec.match.pairs).toEqual([["fd00:10:244::2", "fd00:10:244:8::3"]]);
    expect(p.spec.vxlanPeers).toEqual(["2001:db8:1::11", "2001:db8:2::13"]);
  });

  test("dual-stack: IPv6 pods ride the one VXLAN device over IPv4, so the peers stay IPv4", () => {
    const p = plan(DUAL_SNAPSHOT, "default/node1-a", "[fd00:10:244:8::3]:8080");
    expect(p.spec.vxlanPeers).toEqual(["192.0.2.11", "198.51.100.13"]);
  });

  test("a pod named as the source sends from its address of the destination's family", () => {
    const p = plan(DUAL_SNAPSHOT, "default/node1-a", "[fd00:10:244:8::3]:8080");
    expect(p.source.ip).toBe("fd00:10:244::2");
    expect(p.spec.match.pairs).toEqual([["fd00:10:244::2", "fd00:10:244:8::3"]]);
    expect(p.request.routeLookups).toEqual([
      { dst: "fd00:10:244:8::3", from: "fd00:10:244::2", iif: "podnet0" },
      { dst: "fd00:10:244::2", from: "fd00:10:244:8::3", iif: "podnet0" },
    ]);
    // And a node: its IPv6 node IP.
    expect(plan(DUAL_SNAPSHOT, "node2", "[fd00:10:244:8::3]:8080").source.ip).toBe("2001:db8:1::12");
  });

  test("an IPv6 ClusterIP: only IPv6 endpoints are candidates", () => {
    const p = plan(DUAL_SNAPSHOT, "default/node1-a", `[${DUAL_ECHO_IP6}]:80`);
    expect(p.candidates.map((c) => c.ip)).toEqual([
      "fd00:10:244::2",
      "fd00:10:244::3",
      "fd00:10:244:3::2",
      "fd00:10:244:3::3",
      "fd00:10:244:8::2",
      "fd00:10:244:8::3",
    ]);
    expect(p.spec.match.pairs.every(([a, b]) => !v4(a) && !v4(b))).toBe(true);
  });
});
