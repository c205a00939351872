import { describe, expect, test } from "bun:test";
import type { PodRecord, Service } from "./service-model.ts";
import { endpointsOf, isHeadless, isReady, notReadyEndpointsOf, selectedPods } from "./service-model.ts";

const service: Service = {
  namespace: "default",
  name: "web",
  clusterIPs: ["10.96.0.10"],
  ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
  sessionAffinity: { kind: "None" },
  selector: { app: "web" },
};
const pod = (name: string, ip: string, over: Partial<PodRecord> = {}): PodRecord => ({
  namespace: "default",
  name,
  node: "node-1",
  ips: [ip],
  labels: { app: "web" },
  ...over,
});

describe("endpoints and readiness", () => {
  test("only ready pods are endpoints; a pod with no readiness is ready", () => {
    const pods = [
      pod("old", "10.244.1.2"),
      pod("ready", "10.244.1.3", { ready: true }),
      pod("unready", "10.244.1.4", { ready: false }),
      pod("other", "10.244.1.5", { labels: { app: "db" } }),
      pod("elsewhere", "10.244.1.6", { namespace: "shop" }),
    ];
    expect(endpointsOf(service, pods).map((e) => e.pod)).toEqual(["default/old", "default/ready"]);
    expect(notReadyEndpointsOf(service, pods)).toEqual([
      { ip: "10.244.1.4", node: "node-1", pod: "default/unready" },
    ]);
    expect(selectedPods(service, pods).map((p) => p.name)).toEqual(["old", "ready", "unready"]);
    expect([isReady({}), isReady({ ready: true }), isReady({ ready: false })]).toEqual([true, true, false]);
  });

  test("a Service whose pods are all unready has no endpoints", () => {
    expect(endpointsOf(service, [pod("a", "10.244.1.2", { ready: false })])).toEqual([]);
  });

  test("headless: said outright, or no ClusterIP at all", () => {
    expect(isHeadless(service)).toBe(false);
    expect(isHeadless({ ...service, headless: true, clusterIPs: [] })).toBe(true);
    expect(isHeadless({ ...service, clusterIPs: [] })).toBe(true);
  });
});
