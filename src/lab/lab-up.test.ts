import { describe, expect, test } from "bun:test";
import { LabLayoutError, labLayout } from "./lab-up.ts";
import { defaultTopology, type HostSpec, hostAddresses } from "./topology.ts";

describe("labLayout", () => {
  test("--ip-family picks the families, primary first, and the default topology in them", () => {
    expect(labLayout({ nodes: 2 }).families).toEqual([4]);
    const dual = labLayout({ nodes: 2, ipFamily: "dual" });
    expect(dual.families).toEqual([4, 6]);
    expect(hostAddresses(dual.topology.nodes[1] as HostSpec)).toEqual(["192.0.2.12/24", "2001:db8:1::12/64"]);
    expect(labLayout({ nodes: 1, ipFamily: "ipv6" }).topology.external.address).toBe("2001:db8:3::100/64");
  });

  test("a layout of other families than the flag's is refused", () => {
    expect(() => labLayout({ nodes: 1, ipFamily: "dual", topology: defaultTopology(1) })).toThrow(
      LabLayoutError,
    );
    expect(() => labLayout({ nodes: 1, ipFamily: "ipv4", topology: defaultTopology(1, [6]) })).toThrow(
      "carries IPv6, not the IPv4 of --ip-family ipv4",
    );
    expect(
      labLayout({ nodes: 1, ipFamily: "ipv6", topology: defaultTopology(2, [6]) }).topology.nodes,
    ).toHaveLength(2);
  });

  test("the bgp backend adds the VM on a node segment behind the router from node1, the others none", () => {
    const three = labLayout({ nodes: 3, backend: "bgp" }).topology;
    expect(three.vpcHost).toEqual({
      name: "vm",
      segment: "lan2",
      address: "198.51.100.50/24",
      addresses: ["198.51.100.50/24"],
    });
    // Two nodes share lan1: the VM joins them (a segment without nodes is outside the VPC).
    expect(labLayout({ nodes: 2, backend: "bgp", ipFamily: "dual" }).topology.vpcHost?.addresses).toEqual([
      "192.0.2.50/24",
      "2001:db8:1::50/64",
    ]);
    expect(labLayout({ nodes: 3, backend: "auto" }).topology.vpcHost).toBeUndefined();
    expect(labLayout({ nodes: 3 }).topology.vpcHost).toBeUndefined();
  });

  test("a layout with no room for the VM is refused before anything is built", () => {
    const crowded = defaultTopology(1);
    const node = {
      ...(crowded.nodes[0] as HostSpec),
      address: "192.0.2.50/24",
      addresses: ["192.0.2.50/24"],
    };
    expect(() => labLayout({ nodes: 1, backend: "bgp", topology: { ...crowded, nodes: [node] } })).toThrow(
      "no room for the VM",
    );
  });
});
