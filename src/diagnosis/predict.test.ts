import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { factsWith, labPlan, withoutFdb, withoutRoute, withSysctl } from "./fixtures/trace-scenarios.ts";
import { predictTrace } from "./predict.ts";
import type { Hop, PredictedPath } from "./prediction-types.ts";

function predict(source: string, destination: string, facts: readonly NodeFacts[] = LAB_FACTS) {
  return predictTrace(LAB_SNAPSHOT, facts, labPlan(source, destination));
}

function points(hops: readonly Hop[]): string[] {
  return hops.map((h) => `${h.node ?? "-"}:${h.point}`);
}

function only(paths: readonly PredictedPath[]): PredictedPath {
  expect(paths).toHaveLength(1);
  return paths[0] as PredictedPath;
}

function pathTo(paths: readonly PredictedPath[], pod: string): PredictedPath {
  const p = paths.find((x) => x.endpoint?.pod === pod);
  if (!p) throw new Error(`no path to ${pod}`);
  return p;
}

describe("predictTrace: healthy paths", () => {
  test("pod → pod on the same node is bridged: L2, TTL unchanged, no FIB", () => {
    const path = only(predict("node1-a", "node1-b:8080").paths);
    expect(path.outcome).toBe("delivered");
    expect(points(path.forward)).toEqual(["node1:from-pod", "node1:bridge", "node1:to-pod"]);
    const bridge = path.forward[1];
    expect(bridge?.layer).toBe("l2");
    expect(bridge?.ttl).toBe(64);
    expect(points(path.reply)).toEqual(["node1:from-pod", "node1:bridge", "node1:to-pod"]);
  });

  test("pod → pod direct: routed by node1 via node2's IP on the shared segment, TTL 62 at the pod", () => {
    const path = only(predict("node1-a", "node2-a:8080").paths);
    expect(points(path.forward)).toEqual([
      "node1:from-pod",
      "node1:bridge",
      "node1:fib",
      "node1:underlay",
      "node2:fib",
      "node2:to-pod",
    ]);
    const fib = path.forward[2];
    expect(fib?.route).toMatchObject({ dst: "10.244.3.0/24", via: "192.0.2.12", dev: "eth0" });
    expect(fib?.description).toContain(
      "node2 (192.0.2.12) is on node1's connected subnet 192.0.2.0/24 on eth0",
    );
    expect(path.forward[5]?.ttl).toBe(62);
    expect(path.sourceSeen).toEqual({ ip: "10.244.0.2", port: 40000, translated: false });
    expect(points(path.reply).at(-1)).toBe("node1:to-pod");
  });

  test("pod → pod over VXLAN: VNI, port, outer addresses, and the neighbour and FDB entries used", () => {
    const path = only(predict("node1-a", "node3-b:8080").paths);
    const encap = path.forward.find((h) => h.point === "to-overlay");
    expect(encap?.vxlan).toEqual({
      device: "podnet-vx",
      vni: 4096,
      port: 4789,
      vtep: "10.244.8.0",
      vtepMac: "62:f1:93:8f:e2:6a",
      outerSrc: "192.0.2.11",
      outerDst: "198.51.100.13",
    });
    const fib = path.forward.find((h) => h.point === "fib");
    expect(fib?.description).toContain("not on node1's connected subnet (192.0.2.0/24)");
    expect(fib?.evidence).toContain("bridge fdb show dev podnet-vx → 62:f1:93:8f:e2:6a dst 198.51.100.13");
    expect(path.forward.some((h) => h.node === "node3" && h.point === "from-overlay")).toBe(true);
    expect(path.outcome).toBe("delivered");
  });

  test("pod → ClusterIP: one path per endpoint; the one on node3 is DNATed on node1 and un-DNATed there", () => {
    const prediction = predict("node1-a", "default/echo:80");
    expect(prediction.paths).toHaveLength(6);
    expect(prediction.candidates).toHaveLength(6);
    expect(prediction.outcome).toBe("delivered");
    const path = pathTo(prediction.paths, "default/node3-b");
    const dnat = path.forward.find((h) => h.point === "service-dnat");
    expect(dnat?.node).toBe("node1");
    expect(dnat?.service).toBe("default/echo");
    expect(dnat?.before?.dst).toBe("10.102.49.235");
    expect(dnat?.packet).toMatchObject({ dst: "10.244.8.3", dport: 8080 });
    expect(dnat?.candidates).toHaveLength(6);
    const unNat = path.reply.find((h) => h.point === "un-nat");
    expect(unNat?.node).toBe("node1");
    expect(unNat?.packet).toMatchObject({ src: "10.102.49.235", sport: 80, dst: "10.244.0.2", dport: 40000 });
    expect(path.forward.some((h) => h.point === "masquerade")).toBe(false);
  });

  test("hairpin: a pod reaching itself through its Service is masqueraded to its gateway", () => {
    const path = pathTo(predict("node1-a", "default/echo:80").paths, "default/node1-a");
    const masq = path.forward.find((h) => h.point === "masquerade");
    expect(masq?.packet.src).toBe("10.244.0.1");
    expect(masq?.description).toContain("hairpin");
    expect(path.sourceSeen).toEqual({ ip: "10.244.0.1", translated: true });
    // The reply is un-masqueraded and un-DNATed on node1 and reaches the pod as the ClusterIP.
    expect(path.reply.at(-1)?.packet).toMatchObject({ src: "10.102.49.235", sport: 80, dst: "10.244.0.2" });
  });

  test("node → pod: sent by the node itself, with the source its route picks (the VTEP address over VXLAN)", () => {
    const vxlan = only(predict("node1", "node3-a:8080").paths);
    expect(vxlan.forward[0]?.point).toBe("from-host");
    expect(vxlan.forward[0]?.packet.src).toBe("10.244.0.0");
    expect(vxlan.forward.find((h) => h.point === "fib")?.ttl).toBe(64);
    expect(vxlan.reply.at(-1)?.point).toBe("to-host");
    const direct = only(predict("node1", "node2-a:8080").paths);
    expect(direct.forward[0]?.packet.src).toBe("192.0.2.11");
    expect(direct.outcome).toBe("delivered");
  });

  test("pod → external: masqueraded to node1's address, leaves the cluster; the reply is un-masqueraded", () => {
    const path = only(predict("node1-a", "203.0.113.100:8080").paths);
    expect(path.outcome).toBe("left-cluster");
    const masq = path.forward.find((h) => h.point === "masquerade");
    expect(masq?.packet.src).toBe("192.0.2.11");
    expect(masq?.description).toContain("outside the no-masquerade set");
    expect(path.sourceSeen?.ip).toBe("192.0.2.11");
    expect(path.forward.at(-1)?.point).toBe("to-network");
    expect(points(path.reply)).toEqual(["node1:from-network", "node1:un-nat", "node1:fib", "node1:to-pod"]);
  });

  test("external → NodePort: DNAT and masquerade on node1, to the address of the device the packet leaves by", () => {
    const prediction = predict("203.0.113.100", "192.0.2.11:32032");
    expect(prediction.paths).toHaveLength(6);
    const seen = Object.fromEntries(prediction.paths.map((p) => [p.endpoint?.pod, p.sourceSeen?.ip]));
    expect(seen).toEqual({
      "default/node1-a": "10.244.0.1",
      "default/node1-b": "10.244.0.1",
      "default/node2-a": "192.0.2.11",
      "default/node2-b": "192.0.2.11",
      "default/node3-a": "10.244.0.0",
      "default/node3-b": "10.244.0.0",
    });
    const path = pathTo(prediction.paths, "default/node2-a");
    expect(path.forward[0]?.point).toBe("from-network");
    expect(path.reply.at(-1)).toMatchObject({
      point: "to-network",
      packet: { src: "192.0.2.11", sport: 32032 },
    });
  });

  test("a Service without endpoints is refused by the reject chain, and the reset comes back", () => {
    const path = only(predict("node1-a", "default/no-endpoints:80").paths);
    expect(path.outcome).toBe("refused");
    expect(path.drop?.reason).toBe("no-endpoints");
    expect(path.forward.at(-1)?.point).toBe("service-reject");
    expect(path.reply[0]?.description).toContain("TCP reset");
    expect(path.reply.at(-1)?.point).toBe("to-pod");
  });

  test("a port the ClusterIP does not serve is refused as unknown-service-port", () => {
    const path = only(predict("node1-a", "10.102.49.235:81").paths);
    expect(path.outcome).toBe("refused");
    expect(path.drop?.reason).toBe("unknown-service-port");
    expect(path.drop?.message).toContain("80/tcp, 80/udp");
  });
});

describe("predictTrace: faults name the drop", () => {
  test("peer route deleted on node1: no route for node2's block (the default route leaves the cluster)", () => {
    const path = only(predict("node1-a", "node2-a:8080", withoutRoute("node1", "10.244.3.0/24")).paths);
    expect(path.outcome).toBe("dropped");
    expect(path.drop).toMatchObject({ reason: "no-route", node: "node1" });
    expect(path.drop?.message).toContain("10.244.3.0/24 (node2's block)");
    expect(path.forward.at(-1)?.route?.dst).toBe("default");
  });

  test("FDB entry deleted on node1: missing-fdb, naming the VTEP MAC", () => {
    const path = only(predict("node1-a", "node3-b:8080", withoutFdb("node1", "198.51.100.13")).paths);
    expect(path.drop).toMatchObject({ reason: "missing-fdb", node: "node1" });
    expect(path.drop?.message).toContain("62:f1:93:8f:e2:6a");
    expect(path.forward.some((h) => h.point === "to-overlay")).toBe(false);
  });

  test("neighbour entry deleted on node1: missing-neighbour", () => {
    const facts = factsWith("node1", (f) => ({ ...f, neighbours: [] }));
    const path = only(predict("node1-a", "node3-b:8080", facts).paths);
    expect(path.drop?.reason).toBe("missing-neighbour");
  });

  test("ip_forward off on node2: node1 delivers to node2, which does not route it to the pod", () => {
    const path = only(
      predict("node1-a", "node2-a:8080", withSysctl("node2", "net.ipv4.ip_forward", "0")).paths,
    );
    expect(path.drop).toMatchObject({ reason: "ip-forward-off", node: "node2" });
    expect(path.forward.some((h) => h.node === "node1" && h.point === "underlay")).toBe(true);
  });

  test("strict rp_filter with an asymmetric route back drops it", () => {
    const facts = factsWith("node2", (f) => ({
      ...f,
      sysctls: { ...f.sysctls, "net.ipv4.conf.all.rp_filter": "1" },
      routes: f.routes.map((r) => (r.dst === "10.244.0.0/24" ? { ...r, dev: "podnet-vx" } : r)),
    }));
    const path = only(predict("node1-a", "node2-a:8080", facts).paths);
    expect(path.drop?.reason).toBe("rp-filter");
  });

  test("a node that did not report ends the prediction with agent-missing", () => {
    const prediction = predict(
      "node1-a",
      "node2-a:8080",
      LAB_FACTS.filter((f) => f.node !== "node2"),
    );
    expect(prediction.paths[0]?.drop?.reason).toBe("agent-missing");
    // Nobody saw a drop: the outcome is unknown, not dropped.
    expect(prediction.paths[0]?.outcome).toBe("unknown");
    expect(prediction.outcome).toBe("unknown");
    expect(prediction.unknowns).toContain("node2 did not report its kernel state");
  });

  test("a planned route lookup's answer wins over the routing table", () => {
    const facts = factsWith("node1", (f) => ({
      ...f,
      routeLookups: [
        {
          query: { dst: "10.244.3.2", from: "10.244.0.2", iif: "podnet0" },
          error: "RTNETLINK answers: Network is unreachable",
        },
      ],
    }));
    const path = only(predict("node1-a", "node2-a:8080", facts).paths);
    expect(path.drop?.reason).toBe("no-route");
    expect(path.drop?.evidence[0]).toContain("ip route get 10.244.3.2 from 10.244.0.2 iif podnet0");
  });
});
