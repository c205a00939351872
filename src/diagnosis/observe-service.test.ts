/**
 * How a trace names the Service whose DNAT fired. Without affinity the verdict-map element leads
 * straight to a shared chain (`endpoints-tcp-6`), so the Service comes from the lookup's key
 * matched against the planned Service; an affinity Service still has its own chains, whose names
 * say it.
 */
import { describe, expect, test } from "bun:test";
import { nodeObservation, SVC_PROBE, SVC_VXLAN_NODE1 } from "./fixtures/trace-captures.ts";
import { labPlan } from "./fixtures/trace-scenarios.ts";
import { stitch } from "./observe-flow.ts";
import { observeNode, serviceOfLookup } from "./observe-node.ts";

describe("serviceOfLookup", () => {
  test("names the Service from the verdict-map key, not from the shared chain it leads to", () => {
    const clusterIP = labPlan("node1-a", "default/echo:80", 40518);
    const packet = {
      proto: "tcp",
      src: "10.244.0.2",
      dst: "10.102.49.235",
      sport: 40518,
      dport: 80,
    } as const;
    expect(serviceOfLookup(clusterIP, "service-ips", packet)).toBe("default/echo");
    expect(serviceOfLookup(clusterIP, "service-ips", { ...packet, dport: 81 })).toBeUndefined();
    // echo has udp/80 too; icmp has no port.
    expect(serviceOfLookup(clusterIP, "service-ips", { ...packet, proto: "udp" })).toBe("default/echo");
    expect(serviceOfLookup(clusterIP, "service-ips", { ...packet, proto: "icmp" })).toBeUndefined();
    expect(serviceOfLookup(clusterIP, "service-ips", { ...packet, dst: "10.105.118.57" })).toBeUndefined();
    const nodePort = labPlan("203.0.113.100", "192.0.2.11:32032", 54034);
    const toNode = {
      proto: "tcp",
      src: "203.0.113.100",
      dst: "192.0.2.11",
      sport: 54034,
      dport: 32032,
    } as const;
    expect(serviceOfLookup(nodePort, "service-nodeports", toNode)).toBe("default/echo");
    expect(serviceOfLookup(nodePort, "service-nodeports", { ...toNode, dport: 32033 })).toBeUndefined();
    // A pod destination has no Service to match.
    expect(serviceOfLookup(labPlan("node1-a", "node3-b:8080"), "service-ips", packet)).toBeUndefined();
  });
});

describe("observeNode names the Service of the DNAT", () => {
  test("an affinity Service's chains still name it and the endpoint chain's DNAT is the one reported", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const svc = "svc-c80vt274-default/echo/tcp/80";
    const ep = "ep-kossu185-default/echo/tcp/80__10.244.8.3/8080";
    const vmap = SVC_VXLAN_NODE1.findIndex((l) => l.includes("vmap @service-ips"));
    const affinity = [
      ...SVC_VXLAN_NODE1.slice(0, vmap),
      `trace id d88728aa ip podnet services rule ip daddr . meta l4proto . th dport vmap @service-ips (verdict goto ${svc})`,
      `trace id d88728aa ip podnet ${svc} rule numgen random mod 6 == 0 goto ${ep} (verdict goto ${ep})`,
      `trace id d88728aa ip podnet ${ep} rule update @aff-rbamf3k5-default/echo/tcp/80__10.244.8.3/8080 { ip saddr } (verdict continue)`,
      `trace id d88728aa ip podnet ${ep} rule meta l4proto tcp dnat to 10.244.8.3:8080 (verdict accept)`,
      ...SVC_VXLAN_NODE1.slice(vmap + 2),
    ];
    const seen = nodeObservation("node1", affinity);
    const node1 = observeNode(plan, seen, stitch(plan, [seen], SVC_PROBE)).node;
    expect(node1.dnat).toEqual({
      chain: ep,
      rule: "meta l4proto tcp dnat to 10.244.8.3:8080",
      service: "default/echo",
      to: { ip: "10.244.8.3", port: 8080 },
    });
  });

  test("a lookup whose key is not the planned Service's port names no Service", () => {
    // Same capture, but the plan's Service has only port 81: the key 10.102.49.235 . tcp . 80
    // matches no port of it, and the shared chain's name cannot say whose element it was.
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const destination = plan.destination;
    if (destination.kind !== "service") throw new Error("expected a Service destination");
    const other = {
      ...plan,
      destination: {
        ...destination,
        service: {
          ...destination.service,
          ports: destination.service.ports.map((p) => ({ ...p, port: 81 })),
        },
      },
    };
    const seen = nodeObservation("node1", SVC_VXLAN_NODE1);
    const node1 = observeNode(other, seen, stitch(plan, [seen], SVC_PROBE)).node;
    expect(node1.dnat?.chain).toBe("endpoints-tcp-6");
    expect(node1.dnat?.service).toBeUndefined();
  });
});
