import { describe, expect, test } from "bun:test";
import {
  EXTERNAL_NODE1,
  FDB_DELETED_CONNTRACK,
  FDB_DELETED_NODE1,
  FORWARD_OFF_CONNTRACK,
  FORWARD_OFF_NODE1,
  FORWARD_OFF_NODE2,
  NODE_TO_POD_CONNTRACK,
  NODE_TO_POD_NODE1,
  NODE_TO_POD_NODE3,
  NODEPORT_CONNTRACK,
  NODEPORT_NODE1,
  nodeObservation,
  REJECT_NODE1,
  ROUTE_DELETED_CONNTRACK,
  ROUTE_DELETED_NODE1,
  SAME_NODE_NODE1,
  SVC_PROBE,
  SVC_VXLAN_NODE1,
  svcObservation,
} from "./fixtures/trace-captures.ts";
import { labPlan } from "./fixtures/trace-scenarios.ts";
import { observeTrace, serviceOfChain } from "./observe.ts";
import { FlowTuples, isTraceProto, tuple } from "./observe-flow.ts";
import { observeNode } from "./observe-node.ts";

describe("serviceOfChain", () => {
  test("maps proxy chain names back to the Service", () => {
    expect(serviceOfChain("svc-c80vt274-default/echo/tcp/80")).toBe("default/echo");
    expect(serviceOfChain("ext-7rs1oim7-default/echo/tcp/80")).toBe("default/echo");
    expect(serviceOfChain("ep-kossu185-default/echo/tcp/80__10.244.8.3/8080")).toBe("default/echo");
    expect(serviceOfChain("endpoints-tcp-6")).toBeUndefined();
  });
});

describe("observeTrace on real captures", () => {
  test("ClusterIP → endpoint on node3 over VXLAN: DNAT rule, translated destination, both directions, by tuple", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const o = observeTrace(plan, svcObservation(), SVC_PROBE);
    expect(o.outcome).toBe("answered");
    const node1 = o.nodes.find((n) => n.node === "node1");
    // The flat layout: the service-ips element leads straight to the shared chain, so the
    // Service is named from the lookup's key (ClusterIP . tcp . 80).
    expect(node1?.dnat).toEqual({
      chain: "endpoints-tcp-6",
      rule: "dnat ip to ip daddr . tcp dport . numgen random mod 6 map @service-endpoints-tcp",
      service: "default/echo",
      to: { ip: "10.244.8.3", port: 8080 },
    });
    expect(o.endpoint).toEqual({ ip: "10.244.8.3", pod: "default/node3-b", how: "echo" });
    expect(o.sourceSeen).toEqual({ ip: "10.244.0.2", port: 40518, how: "echo" });
    expect(o.hops.map((h) => `${h.direction}:${h.node}:${h.point}`)).toEqual([
      "forward:node1:bridge",
      "forward:node1:service-dnat",
      "forward:node1:to-overlay",
      "forward:node3:from-overlay",
      "forward:node3:to-pod",
      "reply:node3:bridge",
      "reply:node3:to-overlay",
      "reply:node1:from-overlay",
      "reply:node1:un-nat",
      "reply:node1:to-pod",
    ]);
    // TTL tells routed from bridged: 64 in, 63 out of node1; 62 into node3-b.
    expect(o.hops[2]).toMatchObject({ ttl: 63, oif: "podnet-vx", layer: "l3" });
    expect(o.hops[4]).toMatchObject({ ttl: 62, oif: "podnet0" });
    expect(o.drop).toBeUndefined();
    expect(o.silent).toEqual([]);
  });

  test("without the echo answer, the endpoint comes from the trace and the source seen from node3's view", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const o = observeTrace(plan, svcObservation(), {
      outcome: "answered",
      ms: 3,
      localIp: "10.244.0.2",
      localPort: 40518,
    });
    expect(o.endpoint).toEqual({ ip: "10.244.8.3", port: 8080, pod: "default/node3-b", how: "trace" });
    expect(o.sourceSeen?.ip).toBe("10.244.0.2");
  });

  test("pod → external: the observer after srcnat shows the masquerade address and port", () => {
    const plan = labPlan("node1-a", "203.0.113.100:8080", 44548);
    const o = observeTrace(
      plan,
      [
        nodeObservation("node1", EXTERNAL_NODE1, {
          conntrack: [
            "tcp      6 117 TIME_WAIT src=10.244.0.2 dst=203.0.113.100 sport=44548 dport=8080 src=203.0.113.100 dst=192.0.2.11 sport=8080 dport=65034 [ASSURED] mark=0 use=1",
          ],
        }),
      ],
      { outcome: "answered", ms: 2, localIp: "10.244.0.2", localPort: 44548 },
    );
    expect(o.nodes[0]?.snat).toEqual({ ip: "192.0.2.11", port: 65034, how: "observer" });
    expect(o.sourceSeen).toEqual({ ip: "192.0.2.11", port: 65034, how: "observer" });
    const points = o.hops.map((h) => `${h.direction}:${h.point}`);
    expect(points).toContain("forward:masquerade");
    expect(points).toContain("forward:to-network");
    expect(points).toContain("reply:from-network");
    expect(points).toContain("reply:un-nat");
  });

  test("a Service without endpoints: the reject rule is the drop, named no-endpoints", () => {
    const plan = labPlan("node1-a", "default/no-endpoints:80", 32916);
    const o = observeTrace(plan, [nodeObservation("node1", REJECT_NODE1)], {
      outcome: "refused",
      ms: 1,
      localIp: "10.244.0.2",
      localPort: 32916,
    });
    expect(o.drop).toMatchObject({ reason: "no-endpoints", node: "node1", direction: "forward" });
    expect(o.drop?.message).toContain("reject with tcp reset");
    expect(o.hops.at(-1)?.point).toBe("service-reject");
  });

  test("same-node pods: bridged, TTL unchanged at postrouting (L2)", () => {
    const plan = labPlan("node1-a", "node1-b:8080", 57476);
    const o = observeTrace(plan, [nodeObservation("node1", SAME_NODE_NODE1)], {
      outcome: "answered",
      ms: 1,
      localIp: "10.244.0.2",
      localPort: 57476,
    });
    const out = o.hops.find((h) => h.direction === "forward" && h.layer !== undefined);
    expect(out).toMatchObject({ point: "bridge", layer: "l2", ttl: 64, oif: "podnet0" });
  });

  test("the trace id is not used to join nodes: packets of other flows are ignored", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40999);
    const o = observeTrace(plan, svcObservation(), {
      outcome: "timeout",
      ms: 2000,
      localIp: "10.244.0.2",
      localPort: 40999,
    });
    expect(o.hops).toEqual([]);
    expect(o.drop?.reason).toBe("timeout");
  });
});

describe("observeTrace: where a packet vanished", () => {
  test("entered node1 and never left, with ip_forward 0: ip-forward-off", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const prerouting = SVC_VXLAN_NODE1.slice(0, 10);
    const o = observeTrace(
      plan,
      [
        nodeObservation("node1", prerouting, { sysctls: { "net.ipv4.ip_forward": "0" } }),
        nodeObservation("node3", []),
      ],
      { outcome: "timeout", ms: 2000, localIp: "10.244.0.2", localPort: 40518 },
    );
    expect(o.drop).toMatchObject({ reason: "ip-forward-off", node: "node1" });
    expect(o.drop?.message).toContain("never left");
  });

  test("routed into podnet-vx but no VXLAN packet counted: missing-fdb", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const o = observeTrace(
      plan,
      [
        nodeObservation("node1", SVC_VXLAN_NODE1.slice(0, 15), {
          counters: [{ chain: "observe-post", name: "vxlan-out 198.51.100.13", packets: 0, bytes: 0 }],
        }),
        nodeObservation("node3", []),
      ],
      { outcome: "timeout", ms: 2000, localIp: "10.244.0.2", localPort: 40518 },
    );
    expect(o.drop).toMatchObject({ reason: "missing-fdb", node: "node1" });
  });

  test("a node on the path that did not report is listed as silent", () => {
    const plan = labPlan("node1-a", "node3-b:8080", 40518);
    const o = observeTrace(plan, [nodeObservation("node1", [])], undefined);
    expect(o.silent).toEqual(["node3"]);
    expect(o.probed).toBe(false);
    expect(o.outcome).toBe("not-probed");
    expect(o.nodes.find((n) => n.node === "node3")?.reported).toBe(false);
  });
});

describe("observeTrace on captured faults and other sources", () => {
  test("ip_forward 0 on node2 (real capture): node1 forwards it, node2 takes it in and never lets it out", () => {
    const plan = labPlan("node1-a", "node2-a:8080", 58734);
    const o = observeTrace(
      plan,
      [
        nodeObservation("node1", FORWARD_OFF_NODE1, { conntrack: FORWARD_OFF_CONNTRACK }),
        nodeObservation("node2", FORWARD_OFF_NODE2, { sysctls: { "net.ipv4.ip_forward": "0" } }),
      ],
      { outcome: "timeout", ms: 2000, localIp: "10.244.0.2", localPort: 58734 },
    );
    expect(o.drop).toMatchObject({ reason: "ip-forward-off", node: "node2", direction: "forward" });
    expect(o.hops.filter((h) => h.direction === "forward").map((h) => `${h.node}:${h.point}`)).toEqual([
      "node1:bridge",
      "node1:underlay",
      "node2:underlay",
    ]);
  });

  test("FDB entry deleted (real capture): into podnet-vx, no VXLAN packet counted → missing-fdb", () => {
    const plan = labPlan("node1-a", "node3-b:8080", 47088);
    const o = observeTrace(
      plan,
      [
        nodeObservation("node1", FDB_DELETED_NODE1, {
          conntrack: FDB_DELETED_CONNTRACK,
          counters: [{ chain: "observe-post", name: "vxlan-out 198.51.100.13", packets: 0, bytes: 0 }],
        }),
        nodeObservation("node3", [], {
          counters: [{ chain: "trace-pre", name: "vxlan-in 192.0.2.11", packets: 0, bytes: 0 }],
        }),
      ],
      { outcome: "timeout", ms: 2000, localIp: "10.244.0.2", localPort: 47088 },
    );
    expect(o.drop).toMatchObject({ reason: "missing-fdb", node: "node1" });
  });

  test("peer route deleted (real capture): it leaves node1 by eth0 and is not seen again; the probe times out", () => {
    const plan = labPlan("node1-a", "node2-a:8080", 52742);
    const o = observeTrace(
      plan,
      [
        nodeObservation("node1", ROUTE_DELETED_NODE1, { conntrack: ROUTE_DELETED_CONNTRACK }),
        nodeObservation("node2", []),
      ],
      { outcome: "timeout", ms: 2000, localIp: "10.244.0.2", localPort: 52742 },
    );
    expect(o.hops.map((h) => `${h.node}:${h.point}:${h.oif ?? ""}`)).toEqual([
      "node1:bridge:",
      "node1:underlay:eth0",
    ]);
    expect(o.drop).toMatchObject({ reason: "timeout", node: "node1" });
  });

  test("external → NodePort (real capture): DNAT to node1-b and masquerade to the gateway, from one conntrack entry", () => {
    const plan = labPlan("203.0.113.100", "192.0.2.11:32032", 54034);
    const o = observeTrace(
      plan,
      [nodeObservation("node1", NODEPORT_NODE1, { conntrack: NODEPORT_CONNTRACK })],
      {
        outcome: "answered",
        ms: 2,
        localIp: "203.0.113.100",
        localPort: 54034,
        echo: { pod: "node1-b", ip: "10.244.0.3", from: "10.244.0.1", fromPort: 40630 },
      },
    );
    const node1 = o.nodes.find((n) => n.node === "node1");
    expect(node1?.dnat?.service).toBe("default/echo");
    expect(node1?.dnat?.to).toEqual({ ip: "10.244.0.3", port: 8080 });
    expect(node1?.snat).toEqual({ ip: "10.244.0.1", port: 40630, how: "observer" });
    expect(o.endpoint).toEqual({ ip: "10.244.0.3", pod: "default/node1-b", how: "echo" });
    expect(o.hops[0]?.point).toBe("from-network");
  });

  test("node → pod (real capture): sent by node1 from its VTEP address, received by node3 from podnet-vx", () => {
    const plan = labPlan("node1", "node3-a:8080", 38086);
    const o = observeTrace(
      plan,
      [
        nodeObservation("node1", NODE_TO_POD_NODE1, { conntrack: NODE_TO_POD_CONNTRACK }),
        nodeObservation("node3", NODE_TO_POD_NODE3),
      ],
      { outcome: "answered", ms: 2, localIp: "10.244.0.0", localPort: 38086 },
    );
    expect(o.hops.filter((h) => h.direction === "forward").map((h) => `${h.node}:${h.point}`)).toEqual([
      "node1:from-host",
      "node1:to-overlay",
      "node3:from-overlay",
      "node3:to-pod",
    ]);
    expect(o.hops.at(-1)).toMatchObject({ node: "node1", point: "to-host" });
  });
});

describe("IPv6 ICMP", () => {
  test("nft's ipv6-icmp packet lines and conntrack's icmpv6 entries belong to an icmp trace", () => {
    const base = labPlan("node1-a", "10.244.3.2/icmp");
    const plan = {
      ...base,
      spec: { ...base.spec, destination: { ...base.spec.destination, ip: "fd00:10:244:3::2" } },
    };
    const lines = [
      'trace id 1a2b3c4d inet podnet-trace-t1 pre packet: iif "podnet0" ether saddr 02:00:00:00:00:01 ether daddr 02:00:00:00:00:02 ip6 saddr fd00:10:244::2 ip6 daddr fd00:10:244:3::2 ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 64 ip6 flowlabel 0 ip6 nexthdr ipv6-icmp ip6 length 64 icmpv6 type echo-request icmpv6 code no-route icmpv6 parameter-problem 65536 ',
    ];
    const o = nodeObservation("node1", lines, {
      conntrack: [
        "icmpv6   58 29 src=fd00:10:244::2 dst=fd00:10:244:3::2 type=128 code=0 id=7 src=fd00:10:244:3::2 dst=fd00:10:244::2 type=129 code=0 id=7 mark=0 use=1",
      ],
    });
    const flow = new FlowTuples();
    flow.add("forward", tuple("fd00:10:244::2", "fd00:10:244:3::2"));
    const story = observeNode(plan, o, flow);
    expect(story.node.packets.map((p) => `${p.direction}:${p.hook}:${p.packet.dst}`)).toEqual([
      "forward:prerouting:fd00:10:244:3::2",
    ]);
    expect(story.node.conntrack).toHaveLength(1);
  });

  test("isTraceProto: icmp covers both families, other protocols only themselves", () => {
    expect(isTraceProto("ipv6-icmp", "icmp")).toBe(true);
    expect(isTraceProto("icmpv6", "icmp")).toBe(true);
    expect(isTraceProto("icmp", "icmp")).toBe(true);
    expect(isTraceProto("icmpv6", "tcp")).toBe(false);
    expect(isTraceProto("udp", "tcp")).toBe(false);
  });
});
