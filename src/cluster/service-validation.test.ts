import { describe, expect, test } from "bun:test";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { formatIP } from "../ipnet/address.ts";
import { ServiceValidationError } from "./service-errors.ts";
import type { ServiceInput } from "./service-validation.ts";
import { planService } from "./service-validation.ts";

const v4 = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const dual = buildClusterConfig({
  clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
  serviceCidrs: ["fd00:10:96::/112", "10.96.0.0/24"],
});
const base: ServiceInput = { namespace: "default", name: "web", ports: [{ port: 80 }] };

function refusal(input: unknown, config = v4): ServiceValidationError {
  try {
    planService(input as ServiceInput, config);
  } catch (e) {
    if (e instanceof ServiceValidationError) return e;
    throw e;
  }
  throw new Error("expected a ServiceValidationError");
}

describe("planService", () => {
  test("fills in the defaults: TCP, targetPort = port, affinity None, empty selector", () => {
    const plan = planService(base, v4);
    expect(plan.ports).toEqual([{ protocol: "TCP", port: 80, targetPort: 80 }]);
    expect(plan.sessionAffinity).toEqual({ kind: "None" });
    expect(plan.selector).toEqual({});
    expect(plan.clusterIPs).toEqual([{ family: 4 }]);
    expect([plan.ipFamilies, plan.ipFamilyPolicy]).toEqual([["IPv4"], "SingleStack"]);
  });

  test("ClientIP affinity defaults to 3 hours and accepts up to one day", () => {
    expect(planService({ ...base, sessionAffinity: { kind: "ClientIP" } }, v4).sessionAffinity).toEqual({
      kind: "ClientIP",
      timeoutSeconds: 10800,
    });
    expect(
      planService({ ...base, sessionAffinity: { kind: "ClientIP", timeoutSeconds: 86400 } }, v4)
        .sessionAffinity,
    ).toEqual({ kind: "ClientIP", timeoutSeconds: 86400 });
    expect(refusal({ ...base, sessionAffinity: { kind: "ClientIP", timeoutSeconds: 86401 } }).field).toBe(
      "sessionAffinity.timeoutSeconds",
    );
    expect(refusal({ ...base, sessionAffinity: { kind: "Sticky" } }).field).toBe("sessionAffinity");
  });

  test("PreferDualStack: one ClusterIP per family, the requested one's family first; a request fills its family", () => {
    const plan = planService(
      { ...base, clusterIPs: ["10.96.0.10"], ipFamilyPolicy: "PreferDualStack" },
      dual,
    );
    expect(plan.clusterIPs.map((c) => c.family)).toEqual([4, 6]);
    expect(plan.ipFamilies).toEqual(["IPv4", "IPv6"]);
    expect(plan.clusterIPs[0]?.requested && formatIP(plan.clusterIPs[0].requested)).toBe("10.96.0.10");
    expect(plan.clusterIPs[1]?.requested).toBeUndefined();
  });

  test("by default a dual-stack cluster gives one ClusterIP, of its first service CIDR's family", () => {
    const plan = planService(base, dual);
    expect(plan.clusterIPs).toEqual([{ family: 6 }]);
    expect([plan.ipFamilies, plan.ipFamilyPolicy]).toEqual([["IPv6"], "SingleStack"]);
  });

  test("requested ClusterIPs must be addresses inside a service CIDR, at most one per family", () => {
    expect(refusal({ ...base, clusterIPs: ["10.96.0.300"] }).message).toBe(
      'Invalid Service "default/web": clusterIPs[0] is "10.96.0.300": not an IP address',
    );
    expect(refusal({ ...base, clusterIPs: ["10.96.1.1"] }).reason).toContain("not inside service CIDR");
    expect(refusal({ ...base, clusterIPs: ["10.96.0.0"] }).reason).toContain("network address");
    expect(refusal({ ...base, clusterIPs: ["fd00:10:96::1"] }).reason).toContain("no IPv6 service CIDR");
    expect(refusal({ ...base, clusterIPs: ["10.96.0.5", "10.96.0.6"] }, dual).field).toBe("clusterIPs[1]");
  });

  test("ports: numbers, protocols and NodePort range are checked, naming the port", () => {
    const cases: [unknown, string, string][] = [
      [{ port: 0 }, "ports[0].port", "from 1 to 65535"],
      [{ port: 65536 }, "ports[0].port", "from 1 to 65535"],
      [{ port: 80.5 }, "ports[0].port", "whole number"],
      [{ port: 80, targetPort: 70000 }, "ports[0].targetPort", "from 1 to 65535"],
      [{ port: 80, protocol: "tcp" }, "ports[0].protocol", "TCP, UDP, SCTP"],
      [{ port: 80, protocol: "ICMP" }, "ports[0].protocol", "TCP, UDP, SCTP"],
      [{ port: 80, nodePort: 29999 }, "ports[0].nodePort", "30000 to 32767"],
      [{ port: 80, nodePort: 32768 }, "ports[0].nodePort", "30000 to 32767"],
      [{ port: 80, nodePort: "any" }, "ports[0].nodePort", '"auto"'],
      [{ port: 80, name: "HTTP" }, "ports[0].name", "lowercase"],
      [{ port: 80, name: "8080" }, "ports[0].name", "no letter"],
    ];
    for (const [port, field, reason] of cases) {
      const e = refusal({ ...base, ports: [port] });
      expect(e.field).toBe(field);
      expect(e.reason).toContain(reason);
    }
    for (const ok of [30000, 32767, "auto"]) {
      expect(
        planService({ ...base, ports: [{ port: 80, nodePort: ok as number }] }, v4).ports[0]?.nodePort,
      ).toBe(ok as number);
    }
  });

  test("two ports may share a number across protocols, never a name, port+protocol or NodePort+protocol", () => {
    const ok = planService(
      {
        ...base,
        ports: [
          { name: "dns", port: 53, protocol: "UDP", nodePort: 30053 },
          { name: "dns-tcp", port: 53, protocol: "TCP", nodePort: 30053 },
        ],
      },
      v4,
    );
    expect(ok.ports).toHaveLength(2);
    expect(
      refusal({
        ...base,
        ports: [
          { name: "a", port: 1 },
          { name: "a", port: 2 },
        ],
      }).message,
    ).toBe('Invalid Service "default/web": ports[1].name name "a" is already used by ports[0]');
    expect(refusal({ ...base, ports: [{ port: 80 }, { port: 80, targetPort: 81 }] }).field).toBe(
      "ports[1].port",
    );
    expect(
      refusal({
        ...base,
        ports: [
          { port: 80, nodePort: 30001 },
          { port: 81, nodePort: 30001 },
        ],
      }).field,
    ).toBe("ports[1].nodePort");
    // Two automatic NodePorts never clash before allocation.
    expect(
      planService(
        {
          ...base,
          ports: [
            { port: 80, nodePort: "auto" },
            { port: 81, nodePort: "auto" },
          ],
        },
        v4,
      ).ports,
    ).toHaveLength(2);
  });

  test("names and selectors follow Kubernetes syntax", () => {
    expect(refusal({ ...base, namespace: "kube_system" }).field).toBe("namespace");
    expect(refusal({ ...base, namespace: "a".repeat(64) }).reason).toContain("longer than 63");
    expect(refusal({ ...base, name: "web/x" }).field).toBe("name");
    expect(refusal({ ...base, name: "1web" }).reason).toContain("starting with a letter");
    expect(refusal({ ...base, ports: [] }).message).toBe(
      'Invalid Service "default/web": ports must list at least one port',
    );
    const selector = { "app.kubernetes.io/name": "web", tier: "", "x_y.z": "A-1" };
    expect(planService({ ...base, selector }, v4).selector).toEqual(selector);
    expect(refusal({ ...base, selector: { "bad key": "x" } }).field).toBe("selector");
    expect(refusal({ ...base, selector: { app: "-web" } }).reason).toContain('value of "app"');
    expect(refusal({ ...base, selector: { "Bad_Prefix/app": "x" } }).reason).toContain("prefix");
  });

  test("a cluster without service CIDRs cannot have ClusterIP Services", () => {
    const none = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: [] });
    expect(refusal(base, none).reason).toContain("no service CIDR");
  });
});

describe("planService: headless", () => {
  const headless: ServiceInput = {
    namespace: "default",
    name: "db",
    headless: true,
    ports: [{ name: "pg", port: 5432 }],
    selector: { app: "db" },
  };

  test("claims no ClusterIP in any family and keeps its ports and selector", () => {
    for (const config of [v4, dual]) {
      const plan = planService(headless, config);
      expect(plan.headless).toBe(true);
      expect(plan.clusterIPs).toEqual([]);
      expect(plan.ports).toEqual([{ name: "pg", protocol: "TCP", port: 5432, targetPort: 5432 }]);
      expect(plan.selector).toEqual({ app: "db" });
      expect(plan.ipFamilyPolicy).toBe("SingleStack");
    }
    expect(planService(base, v4).headless).toBe(false);
  });

  test("may have no port, and needs no service CIDR (it has no ClusterIP)", () => {
    const none = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: [] });
    expect(planService({ ...headless, ports: [] }, none).ports).toEqual([]);
    expect(refusal({ ...base, ports: [] }).message).toBe(
      'Invalid Service "default/web": ports must list at least one port',
    );
  });

  test("a NodePort, a ClusterIP or a headless value other than a boolean is refused, naming the field", () => {
    const np = refusal({ ...headless, ports: [{ port: 5432 }, { port: 5433, nodePort: 30080 }] });
    expect(np.message).toBe(
      'Invalid Service "default/db": ports[1].nodePort is 30080: a headless Service has no NodePorts (there is no ClusterIP to forward them to)',
    );
    expect(refusal({ ...headless, ports: [{ port: 5432, nodePort: "auto" }] }).field).toBe(
      "ports[0].nodePort",
    );
    expect(refusal({ ...headless, clusterIPs: ["10.96.0.10"] }).message).toBe(
      'Invalid Service "default/db": clusterIPs is "10.96.0.10": a headless Service has no ClusterIP',
    );
    expect(refusal({ ...headless, headless: "yes" }).message).toBe(
      'Invalid Service "default/db": headless is "yes": must be true or false',
    );
    // An empty request is no request: still headless.
    expect(planService({ ...headless, clusterIPs: [] }, v4).clusterIPs).toEqual([]);
  });
});
