import { describe, expect, test } from "bun:test";
import { parsePrefix } from "../ipnet/prefix.ts";
import {
  defaultTopology,
  hostAddresses,
  hostOn,
  labHostIP,
  segmentCidrs,
  segmentOf,
  withVpcHost,
} from "./topology.ts";

describe("defaultTopology", () => {
  test("three nodes: two on one segment, the third behind the router", () => {
    const t = defaultTopology(3);
    expect(t.nodes.map((n) => `${n.name} ${n.segment} ${n.address}`)).toEqual([
      "node1 lan1 192.0.2.11/24",
      "node2 lan1 192.0.2.12/24",
      "node3 lan2 198.51.100.13/24",
    ]);
    expect(t.segments.map((s) => `${s.name} ${s.cidr} gw ${s.gateway}`)).toEqual([
      "lan1 192.0.2.0/24 gw 192.0.2.1",
      "lan2 198.51.100.0/24 gw 198.51.100.1",
      "ext 203.0.113.0/24 gw 203.0.113.1",
    ]);
    expect(t.external.address).toBe("203.0.113.100/24");
  });

  test("every address is unique and only documentation ranges are used", () => {
    const t = defaultTopology(40);
    const all = [...t.nodes, t.external, t.datastore].map((h) => h.address.split("/")[0]);
    expect(new Set(all).size).toBe(all.length);
    for (const a of all) expect(a).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
  });

  test("an IPv4 lab's hosts and segments have one address and range each", () => {
    const t = defaultTopology(2);
    expect(t.nodes.map(hostAddresses)).toEqual([["192.0.2.11/24"], ["192.0.2.12/24"]]);
    expect(t.segments.map((s) => s.gateways)).toEqual([["192.0.2.1"], ["198.51.100.1"], ["203.0.113.1"]]);
  });

  test("dual: IPv4 first, and a host's IPv6 address ends in the same digits as its IPv4 one", () => {
    const t = defaultTopology(3, [4, 6]);
    expect(t.nodes.map((n) => `${n.name} ${n.segment} ${hostAddresses(n).join(" ")}`)).toEqual([
      "node1 lan1 192.0.2.11/24 2001:db8:1::11/64",
      "node2 lan1 192.0.2.12/24 2001:db8:1::12/64",
      "node3 lan2 198.51.100.13/24 2001:db8:2::13/64",
    ]);
    expect(t.nodes[0]?.address).toBe("192.0.2.11/24");
    expect(
      t.segments.map((s) => `${s.name} ${segmentCidrs(s).join(" ")} gw ${s.gateways?.join(" ")}`),
    ).toEqual([
      "lan1 192.0.2.0/24 2001:db8:1::/64 gw 192.0.2.1 2001:db8:1::1",
      "lan2 198.51.100.0/24 2001:db8:2::/64 gw 198.51.100.1 2001:db8:2::1",
      "ext 203.0.113.0/24 2001:db8:3::/64 gw 203.0.113.1 2001:db8:3::1",
    ]);
    expect(t.external.addresses).toEqual(["203.0.113.100/24", "2001:db8:3::100/64"]);
    expect(t.datastore.addresses).toEqual(["192.0.2.2/24", "2001:db8:1::2/64"]);
  });

  test("ipv6: only the documentation range 2001:db8::/32, every address unique", () => {
    const t = defaultTopology(40, [6]);
    expect(t.nodes[0]?.address).toBe("2001:db8:1::11/64");
    expect(t.nodes[39]?.address).toBe("2001:db8:1::50/64");
    expect(t.segments[0]?.gateway).toBe("2001:db8:1::1");
    const all = [...t.nodes, t.external, t.datastore].flatMap(hostAddresses);
    expect(all).toHaveLength(42);
    expect(new Set(all).size).toBe(all.length);
    for (const a of all) expect(a).toMatch(/^2001:db8:[123]::[0-9a-f]+\/64$/);
  });

  test("host numbers: decimal in IPv4, the same digits in IPv6; none past the range's end", () => {
    expect(labHostIP(parsePrefix("2001:db8:3::/64"), 100)).toBe("2001:db8:3::100");
    expect(labHostIP(parsePrefix("198.51.100.0/24"), 100)).toBe("198.51.100.100");
    expect(labHostIP(parsePrefix("2001:db8::/120"), 100)).toBeUndefined();
    expect(labHostIP(parsePrefix("192.0.2.0/26"), 63)).toBeUndefined();
    expect(labHostIP(parsePrefix("192.0.2.0/26"), 62)).toBe("192.0.2.62");
  });

  test("refuses node counts outside 1..40", () => {
    expect(() => defaultTopology(0)).toThrow("1 to 40");
    expect(() => defaultTopology(41)).toThrow("1 to 40");
  });
});

describe("the VM (vpcHost)", () => {
  test("only when asked: the default topologies have none", () => {
    expect(defaultTopology(3).vpcHost).toBeUndefined();
    expect(defaultTopology(3, [4, 6]).vpcHost).toBeUndefined();
  });

  test("on lan2 at host number 50, in every family", () => {
    expect(defaultTopology(3, [4], { vpcHost: true }).vpcHost).toEqual({
      name: "vm",
      segment: "lan2",
      address: "198.51.100.50/24",
      addresses: ["198.51.100.50/24"],
    });
    expect(defaultTopology(1, [4, 6], { vpcHost: true }).vpcHost?.addresses).toEqual([
      "198.51.100.50/24",
      "2001:db8:2::50/64",
    ]);
    expect(defaultTopology(2, [6], { vpcHost: true }).vpcHost?.address).toBe("2001:db8:2::50/64");
  });

  test("clear of every other address up to the largest lab", () => {
    for (const families of [[4], [6], [4, 6]] as const) {
      const t = defaultTopology(40, families, { vpcHost: true });
      const all = [...t.nodes, t.external, t.datastore, t.vpcHost].flatMap((h) =>
        h ? hostAddresses(h) : [],
      );
      expect(new Set(all).size).toBe(all.length);
    }
  });

  test("elsewhere: the first segment other than the first node's, and never a taken address", () => {
    const lan1 = segmentOf("lan1", ["192.0.2.0/24"]);
    const rack = segmentOf("rack", ["10.9.0.0/24"]);
    const ext = segmentOf("ext", ["203.0.113.0/24"]);
    const base = {
      segments: [lan1, rack, ext],
      nodes: [hostOn(lan1, "a", 11), hostOn(rack, "b", 11)],
      external: hostOn(ext, "external", 100),
      datastore: hostOn(lan1, "datastore", 2),
    };
    expect(withVpcHost(base).vpcHost?.address).toBe("10.9.0.50/24");
    expect(withVpcHost({ ...base, nodes: [hostOn(lan1, "a", 11)] }).vpcHost?.segment).toBe("lan1");
    expect(() => withVpcHost(base, "ext")).toThrow('not "ext"');
    expect(() => withVpcHost(base, "nowhere")).toThrow('not "nowhere"');
    expect(() => withVpcHost({ ...base, nodes: [...base.nodes, hostOn(rack, "c", 50)] })).toThrow(
      '10.9.0.50/24 on "rack" is taken',
    );
    const tiny = segmentOf("tiny", ["10.8.0.0/28"]);
    expect(() => withVpcHost({ ...base, segments: [...base.segments, tiny] }, "tiny")).toThrow(
      "no room for vm",
    );
  });
});
