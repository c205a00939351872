import { describe, expect, test } from "bun:test";
import type { PodRecord, Service } from "./service-model.ts";
import {
  endpointsOf,
  ipFamilyName,
  ipFamilyNumber,
  ipFamilyOf,
  isHeadless,
  isIPFamily,
  isIPFamilyPolicy,
  isReady,
  notReadyEndpointsOf,
  ofServiceFamilies,
  selectedPods,
  serviceFamilies,
  serviceIpFamilyPolicy,
} from "./service-model.ts";

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

describe("address families", () => {
  const dualPod = pod("web-1", "10.244.1.2", { ips: ["10.244.1.2", "fd00:10:244:1::2"] });

  test("a record without families reads as the families of its ClusterIPs, in order", () => {
    expect(serviceFamilies(service)).toEqual(["IPv4"]);
    expect(serviceIpFamilyPolicy(service)).toBe("SingleStack");
    const both = { ...service, clusterIPs: ["fd00:10:96::a", "10.96.0.10"] };
    expect(serviceFamilies(both)).toEqual(["IPv6", "IPv4"]);
    expect(serviceIpFamilyPolicy(both)).toBe("RequireDualStack");
    // An old headless Service answered with every address: both families.
    const headless = { ...service, headless: true as const, clusterIPs: [] };
    expect([serviceFamilies(headless), serviceIpFamilyPolicy(headless)]).toEqual([
      ["IPv4", "IPv6"],
      "RequireDualStack",
    ]);
  });

  test("stored families and policy win over the derived ones", () => {
    const s: Service = { ...service, ipFamilies: ["IPv4"], ipFamilyPolicy: "PreferDualStack" };
    expect([serviceFamilies(s), serviceIpFamilyPolicy(s)]).toEqual([["IPv4"], "PreferDualStack"]);
  });

  test("ofServiceFamilies keeps the endpoint addresses of the Service's families only", () => {
    const all = endpointsOf(service, [dualPod]);
    expect(all.map((e) => e.ip)).toEqual(["10.244.1.2", "fd00:10:244:1::2"]);
    expect(ofServiceFamilies(service, all).map((e) => e.ip)).toEqual(["10.244.1.2"]);
    const v6: Service = { ...service, clusterIPs: ["fd00:10:96::a"], ipFamilies: ["IPv6"] };
    expect(ofServiceFamilies(v6, all).map((e) => e.ip)).toEqual(["fd00:10:244:1::2"]);
    const both: Service = { ...service, clusterIPs: ["10.96.0.10", "fd00:10:96::a"] };
    expect(ofServiceFamilies(both, all)).toEqual(all);
    const unready = { ...dualPod, ready: false };
    expect(ofServiceFamilies(v6, notReadyEndpointsOf(v6, [unready])).map((e) => e.ip)).toEqual([
      "fd00:10:244:1::2",
    ]);
  });

  test("family names", () => {
    expect([ipFamilyOf("10.0.0.1"), ipFamilyOf("::1"), ipFamilyOf("nope")]).toEqual([
      "IPv4",
      "IPv6",
      undefined,
    ]);
    expect([ipFamilyName(6), ipFamilyNumber("IPv4")]).toEqual(["IPv6", 4]);
    expect([
      isIPFamily("IPv6"),
      isIPFamily("ipv6"),
      isIPFamilyPolicy("PreferDualStack"),
      isIPFamilyPolicy(""),
    ]).toEqual([true, false, true, false]);
  });
});
