import { describe, expect, test } from "bun:test";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { LAB_ECHO, LAB_PODS, LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { resolveTarget, splitHostPort, TargetError } from "./target.ts";

function kindAndIp(text: string, snapshot: ClusterSnapshot = LAB_SNAPSHOT) {
  const t = resolveTarget(snapshot, text);
  return { kind: t.kind, ip: t.ip, port: "port" in t ? t.port : undefined };
}

describe("splitHostPort", () => {
  test("IPv4 with and without a port", () => {
    expect(splitHostPort("10.244.0.2")).toEqual({ host: "10.244.0.2" });
    expect(splitHostPort("10.244.0.2:8080")).toEqual({ host: "10.244.0.2", port: 8080 });
  });
  test("IPv6 bare and bracketed", () => {
    expect(splitHostPort("2001:db8::1")).toEqual({ host: "2001:db8::1" });
    expect(splitHostPort("[2001:db8::1]:80")).toEqual({ host: "2001:db8::1", port: 80 });
    expect(splitHostPort("[2001:db8::1]")).toEqual({ host: "2001:db8::1" });
  });
  test("bad ports are refused with the text", () => {
    expect(() => splitHostPort("10.0.0.1:0")).toThrow(TargetError);
    expect(() => splitHostPort("10.0.0.1:70000")).toThrow('Cannot trace "10.0.0.1:70000": port "70000"');
    expect(() => splitHostPort("[2001:db8::1]x")).toThrow(TargetError);
  });
});

describe("resolveTarget on the lab", () => {
  test("a headless Service is named as such: there is no ClusterIP to trace to", () => {
    const headless = { ...LAB_ECHO, name: "echo-headless", clusterIPs: [], headless: true as const };
    const snapshot = {
      ...LAB_SNAPSHOT,
      services: [...LAB_SNAPSHOT.services, { service: headless, endpoints: [] }],
    };
    expect(() => resolveTarget(snapshot, "echo-headless:80")).toThrow(
      "Service default/echo-headless is headless (no ClusterIP, no proxy rules): trace to one of its pods",
    );
  });

  test("pods by name, namespace/name and address", () => {
    expect(kindAndIp("node1-a")).toEqual({ kind: "pod", ip: "10.244.0.2", port: undefined });
    expect(kindAndIp("default/node2-b")).toEqual({ kind: "pod", ip: "10.244.3.3", port: undefined });
    expect(kindAndIp("10.244.8.3:8080")).toEqual({ kind: "pod", ip: "10.244.8.3", port: 8080 });
    const t = resolveTarget(LAB_SNAPSHOT, "10.244.8.3");
    expect(t.kind === "pod" && t.pod.name).toBe("node3-b");
  });

  test("nodes by name, node IP, gateway and VTEP address", () => {
    expect(kindAndIp("node2")).toEqual({ kind: "node", ip: "192.0.2.12", port: undefined });
    expect(kindAndIp("198.51.100.13")).toEqual({ kind: "node", ip: "198.51.100.13", port: undefined });
    expect(kindAndIp("10.244.3.1")).toEqual({ kind: "node", ip: "10.244.3.1", port: undefined });
    expect(kindAndIp("10.244.8.0")).toEqual({ kind: "node", ip: "10.244.8.0", port: undefined });
    expect(kindAndIp("node3:22")).toEqual({ kind: "node", ip: "198.51.100.13", port: 22 });
  });

  test("Services by name and ClusterIP, protocol when the port is unambiguous", () => {
    const byName = resolveTarget(LAB_SNAPSHOT, "default/echo:80");
    expect(byName).toEqual({ kind: "service", ip: "10.102.49.235", service: LAB_ECHO, port: 80 });
    const noEndpoints = resolveTarget(LAB_SNAPSHOT, "no-endpoints:80");
    expect(noEndpoints.kind === "service" && noEndpoints.protocol).toBe("TCP");
    expect(kindAndIp("10.102.49.235")).toEqual({ kind: "service", ip: "10.102.49.235", port: undefined });
    expect(kindAndIp("default/echo")).toEqual({ kind: "service", ip: "10.102.49.235", port: undefined });
  });

  test("NodePorts on a node IP or node name", () => {
    const t = resolveTarget(LAB_SNAPSHOT, "192.0.2.11:32032");
    expect(t.kind).toBe("node-port");
    if (t.kind !== "node-port") return;
    expect(t.node?.name).toBe("node1");
    expect(t.service.name).toBe("echo");
    expect(t.servicePort.protocol).toBe("TCP");
    const u = resolveTarget(LAB_SNAPSHOT, "node3:30772");
    expect(u.kind === "node-port" && u.servicePort.protocol).toBe("UDP");
    expect(u.ip).toBe("198.51.100.13");
  });

  test("anything else is external", () => {
    expect(kindAndIp("203.0.113.100:8080")).toEqual({ kind: "external", ip: "203.0.113.100", port: 8080 });
    expect(kindAndIp("[2001:db8::1]:80")).toEqual({ kind: "external", ip: "2001:db8::1", port: 80 });
  });

  test("ambiguity: pod without port, Service with port; node before pod", () => {
    const twin = { ...LAB_PODS[0], name: "echo" } as (typeof LAB_PODS)[number];
    const nodeNamedPod = { ...LAB_PODS[1], name: "node2" } as (typeof LAB_PODS)[number];
    const snapshot: ClusterSnapshot = { ...LAB_SNAPSHOT, pods: [...LAB_SNAPSHOT.pods, twin, nodeNamedPod] };
    expect(resolveTarget(snapshot, "default/echo").kind).toBe("pod");
    expect(resolveTarget(snapshot, "default/echo:80").kind).toBe("service");
    expect(resolveTarget(snapshot, "node2").kind).toBe("node");
    expect(resolveTarget(snapshot, "default/node2").kind).toBe("pod");
  });

  test("unknown names and malformed text are refused, naming the text", () => {
    expect(() => resolveTarget(LAB_SNAPSHOT, "nope")).toThrow(
      'Cannot trace "nope": no pod, node or Service of that name',
    );
    expect(() => resolveTarget(LAB_SNAPSHOT, "kube-system/dns:53")).toThrow(
      "no pod or Service kube-system/dns",
    );
    expect(() => resolveTarget(LAB_SNAPSHOT, "10.244.0")).toThrow("is not an IPv4 address");
    expect(() => resolveTarget(LAB_SNAPSHOT, "a/b/c")).toThrow(TargetError);
    expect(() => resolveTarget(LAB_SNAPSHOT, "")).toThrow(TargetError);
  });
});
