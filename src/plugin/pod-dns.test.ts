import { describe, expect, test } from "bun:test";
import { cniFailure } from "../../test/support/cni-fixtures.ts";
import { parseNetConf } from "../cni/netconf.ts";
import { MAX_SEARCH, podDns } from "./pod-dns.ts";

const NODE_DNS = {
  nameservers: ["169.254.20.10"],
  search: ["svc.cluster.local", "cluster.local"],
  options: ["ndots:5"],
};

function netconf(extra: Record<string, unknown>) {
  return parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "podnet", type: "podnet", ...extra }));
}

describe("podDns", () => {
  test("kubelet's ClusterFirst: the pod's namespace first, then the node's search path, ndots:5", () => {
    const conf = netconf({ clusterDomain: "cluster.local", dns: NODE_DNS });
    expect(podDns(conf, "shop")).toEqual({
      nameservers: ["169.254.20.10"],
      search: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
      options: ["ndots:5"],
    });
    expect(podDns(conf, "default")?.search?.[0]).toBe("default.svc.cluster.local");
  });

  test("other search domains of the config come after the cluster's, once, at most 32 in all", () => {
    const conf = netconf({
      clusterDomain: "k8s.example",
      dns: { nameservers: ["169.254.20.10"], search: ["corp.example", "svc.k8s.example", "k8s.example"] },
    });
    expect(podDns(conf, "web")?.search).toEqual([
      "web.svc.k8s.example",
      "svc.k8s.example",
      "k8s.example",
      "corp.example",
    ]);
    const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const long =
      podDns(netconf({ clusterDomain: "cluster.local", dns: { search: many } }), "web")?.search ?? [];
    expect(long).toHaveLength(MAX_SEARCH);
    expect(long.slice(0, 4)).toEqual([
      "web.svc.cluster.local",
      "svc.cluster.local",
      "cluster.local",
      "d0.example",
    ]);
  });

  test("without clusterDomain the config's dns is returned as it is (or none)", () => {
    expect(podDns(netconf({ dns: NODE_DNS }), "shop")).toEqual(NODE_DNS);
    expect(podDns(netconf({}), "shop")).toBeUndefined();
  });

  test("a bad clusterDomain is code 7, a namespace that is no DNS label code 4", () => {
    const bad = cniFailure(() => podDns(netconf({ clusterDomain: "Cluster.Local", dns: NODE_DNS }), "shop"));
    expect(bad.code).toBe(7);
    expect(bad.message).toContain('clusterDomain "Cluster.Local" is not a DNS name');
    expect(cniFailure(() => podDns(netconf({ clusterDomain: 5 }), "shop")).code).toBe(7);
    const ns = cniFailure(() => podDns(netconf({ clusterDomain: "cluster.local", dns: NODE_DNS }), "Shop_1"));
    expect(ns.code).toBe(4);
    expect(ns.message).toContain("K8S_POD_NAMESPACE");
  });
});
