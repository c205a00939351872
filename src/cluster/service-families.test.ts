import { describe, expect, test } from "bun:test";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { formatIP } from "../ipnet/address.ts";
import { ServiceValidationError } from "./service-errors.ts";
import type { FamilyRequest } from "./service-families.ts";
import { planFamilies } from "./service-families.ts";

const v4 = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const v6 = buildClusterConfig({ clusterCidrs: ["fd00:10:244::/56"], serviceCidrs: ["fd00:10:96::/112"] });
const dual = buildClusterConfig({
  clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
  serviceCidrs: ["10.96.0.0/24", "fd00:10:96::/112"],
});
const dual6 = buildClusterConfig({
  clusterCidrs: ["fd00:10:244::/56", "10.244.0.0/16"],
  serviceCidrs: ["fd00:10:96::/112", "10.96.0.0/24"],
});
const clusters = { v4, v6, dual, dual6 };
type ClusterName = keyof typeof clusters;

const selected = { headless: false, selector: { app: "web" } };

/** The families and policy planned, or the refusal as "field: reason". */
function outcome(cluster: ClusterName, request: Partial<FamilyRequest>): string {
  try {
    const plan = planFamilies("default/web", clusters[cluster], { ...selected, ...request });
    const ips = plan.clusterIPs.map((c) => `${c.family}${c.requested ? `=${formatIP(c.requested)}` : ""}`);
    return `${plan.ipFamilies.join(",")} ${plan.ipFamilyPolicy} [${ips.join(" ")}]`;
  } catch (e) {
    if (e instanceof ServiceValidationError) return `${e.field}: ${e.reason}`;
    throw e;
  }
}

describe("planFamilies (KEP-563)", () => {
  // cluster, request, outcome: Kubernetes' defaulting of ipFamilyPolicy/ipFamilies for a new Service.
  const table: [ClusterName, Partial<FamilyRequest>, string][] = [
    // No policy: SingleStack of the cluster's first family.
    ["v4", {}, "IPv4 SingleStack [4]"],
    ["v6", {}, "IPv6 SingleStack [6]"],
    ["dual", {}, "IPv4 SingleStack [4]"],
    ["dual6", {}, "IPv6 SingleStack [6]"],
    // SingleStack of a given family.
    ["dual", { ipFamilies: ["IPv6"] }, "IPv6 SingleStack [6]"],
    [
      "dual",
      { ipFamilyPolicy: "SingleStack", clusterIPs: ["fd00:10:96::a"] },
      "IPv6 SingleStack [6=fd00:10:96::a]",
    ],
    // PreferDualStack: both on a dual-stack cluster, in the cluster's order unless families say otherwise.
    ["v4", { ipFamilyPolicy: "PreferDualStack" }, "IPv4 PreferDualStack [4]"],
    ["v6", { ipFamilyPolicy: "PreferDualStack" }, "IPv6 PreferDualStack [6]"],
    ["dual", { ipFamilyPolicy: "PreferDualStack" }, "IPv4,IPv6 PreferDualStack [4 6]"],
    ["dual6", { ipFamilyPolicy: "PreferDualStack" }, "IPv6,IPv4 PreferDualStack [6 4]"],
    ["dual", { ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv6"] }, "IPv6,IPv4 PreferDualStack [6 4]"],
    [
      "v4",
      { ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv4", "IPv6"] },
      "ipFamilies[1]: is IPv6, but the cluster has no IPv6 service CIDR",
    ],
    // RequireDualStack: both, or refused.
    ["dual", { ipFamilyPolicy: "RequireDualStack" }, "IPv4,IPv6 RequireDualStack [4 6]"],
    [
      "dual6",
      { ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4"] },
      "IPv4,IPv6 RequireDualStack [4 6]",
    ],
    [
      "v4",
      { ipFamilyPolicy: "RequireDualStack" },
      "ipFamilyPolicy: is RequireDualStack, but the cluster has no IPv6 service CIDR",
    ],
    [
      "v6",
      { ipFamilyPolicy: "RequireDualStack" },
      "ipFamilyPolicy: is RequireDualStack, but the cluster has no IPv4 service CIDR",
    ],
    // Two families or two ClusterIPs without a policy: RequireDualStack.
    ["dual", { ipFamilies: ["IPv6", "IPv4"] }, "IPv6,IPv4 RequireDualStack [6 4]"],
    [
      "dual",
      { clusterIPs: ["fd00:10:96::a", "10.96.0.10"] },
      "IPv6,IPv4 RequireDualStack [6=fd00:10:96::a 4=10.96.0.10]",
    ],
    [
      "v4",
      { ipFamilies: ["IPv4", "IPv6"] },
      "ipFamilies[1]: is IPv6, but the cluster has no IPv6 service CIDR",
    ],
    // A ClusterIP fills its family; the families follow the ClusterIPs' order.
    [
      "dual",
      { ipFamilyPolicy: "PreferDualStack", clusterIPs: ["10.96.0.10"] },
      "IPv4,IPv6 PreferDualStack [4=10.96.0.10 6]",
    ],
    [
      "dual",
      { ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv6", "IPv4"], clusterIPs: ["fd00:10:96::a"] },
      "IPv6,IPv4 RequireDualStack [6=fd00:10:96::a 4]",
    ],
    // Errors.
    [
      "dual",
      { ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv4", "IPv6"] },
      "ipFamilyPolicy: is SingleStack, but two families are asked for (IPv4, IPv6): use PreferDualStack or RequireDualStack",
    ],
    [
      "dual",
      { ipFamilyPolicy: "SingleStack", clusterIPs: ["10.96.0.10", "fd00:10:96::a"] },
      "ipFamilyPolicy: is SingleStack, but two families are asked for (IPv4, IPv6): use PreferDualStack or RequireDualStack",
    ],
    [
      "dual",
      { ipFamilies: ["IPv6"], clusterIPs: ["10.96.0.10"] },
      "ipFamilies[0]: is IPv6, but clusterIPs[0] is IPv4: the two lists must be in the same order",
    ],
    ["dual", { ipFamilies: ["IPv4", "IPv4"] }, "ipFamilies[1]: is IPv4 again: list a family once"],
    ["dual", { ipFamilies: ["IPv4", "IPv6", "IPv4"] }, "ipFamilies: lists 3 families: at most 2"],
    ["dual", { ipFamilies: ["ipv4"] }, 'ipFamilies[0]: is "ipv4": use IPv4 or IPv6'],
    ["dual", { ipFamilies: "IPv4" }, "ipFamilies: must be a list of IPv4 or IPv6"],
    [
      "dual",
      { ipFamilyPolicy: "DualStack" },
      'ipFamilyPolicy: is "DualStack": use SingleStack, PreferDualStack, RequireDualStack',
    ],
    [
      "v4",
      { clusterIPs: ["fd00:10:96::a"] },
      "clusterIPs[0]: is IPv6, but the cluster has no IPv6 service CIDR",
    ],
  ];
  for (const [cluster, request, expected] of table)
    test(`${cluster} ${JSON.stringify(request)} → ${expected}`, () => {
      expect(outcome(cluster, request)).toBe(expected);
    });
});

describe("planFamilies: headless", () => {
  const headless = { headless: true, selector: { app: "db" } };
  const bare = { headless: true, selector: {} };

  test("with a selector: the same rules, and no ClusterIP is planned", () => {
    expect(outcome("dual", headless)).toBe("IPv4 SingleStack []");
    expect(outcome("dual", { ...headless, ipFamilyPolicy: "PreferDualStack" })).toBe(
      "IPv4,IPv6 PreferDualStack []",
    );
    expect(outcome("v4", { ...headless, ipFamilyPolicy: "PreferDualStack" })).toBe("IPv4 PreferDualStack []");
    expect(outcome("v4", { ...headless, ipFamilyPolicy: "RequireDualStack" })).toBe(
      "ipFamilyPolicy: is RequireDualStack, but the cluster has no IPv6 service CIDR",
    );
    expect(outcome("v4", { ...headless, ipFamilies: ["IPv6"] })).toBe(
      "ipFamilies[0]: is IPv6, but the cluster has no IPv6 service CIDR",
    );
  });

  test("without a selector: RequireDualStack by default, on any cluster (it allocates nothing)", () => {
    expect(outcome("v4", bare)).toBe("IPv4,IPv6 RequireDualStack []");
    expect(outcome("dual6", bare)).toBe("IPv6,IPv4 RequireDualStack []");
    expect(outcome("v4", { ...bare, ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv6"] })).toBe(
      "IPv6 SingleStack []",
    );
  });
});
