import { describe, expect, test } from "bun:test";
import type { BgpVpcSource } from "./masquerade-cidrs.ts";
import { bgpVpcCidrs, nonMasqueradeCidrs, PRIVATE_RANGES } from "./masquerade-cidrs.ts";

const withPeer: BgpVpcSource = {
  peers: [{ name: "lan1", address: "192.0.2.1", asNumber: 64512 }],
  vpcCidrs: [],
};
const nodeNetworks = ["192.0.2.0/24"];

describe("bgpVpcCidrs", () => {
  test("nothing outside the cluster sees pod addresses without BGP peers", () => {
    expect(bgpVpcCidrs(undefined, nodeNetworks)).toEqual([]);
    expect(bgpVpcCidrs({ peers: [], vpcCidrs: ["10.1.0.0/16"] }, nodeNetworks)).toEqual([]);
  });

  test("the configured VPC, else the node networks", () => {
    expect(bgpVpcCidrs(withPeer, nodeNetworks)).toEqual(["192.0.2.0/24"]);
    expect(
      bgpVpcCidrs({ ...withPeer, vpcCidrs: ["198.51.100.0/24", "2001:db8:2::/64"] }, nodeNetworks),
    ).toEqual(["198.51.100.0/24", "2001:db8:2::/64"]);
  });
});

describe("nonMasqueradeCidrs", () => {
  test("the VPC joins the cluster and service CIDRs", () => {
    expect(
      nonMasqueradeCidrs({
        clusterCidrs: ["10.244.0.0/16"],
        serviceCidrs: ["10.96.0.0/12"],
        vpcCidrs: ["192.0.2.0/24"],
      }),
    ).toEqual(["10.244.0.0/16", "10.96.0.0/12", "192.0.2.0/24"]);
    expect(
      nonMasqueradeCidrs({
        clusterCidrs: [],
        serviceCidrs: [],
        keepPrivateRanges: true,
        extra: ["203.0.113.0/24"],
      }),
    ).toEqual([...PRIVATE_RANGES, "203.0.113.0/24"]);
  });
});
