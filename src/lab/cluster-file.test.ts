import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ClusterFileError, parseClusterFile } from "./cluster-file.ts";

const ok = `
backend: vxlan
podsPerNode: 3
segments:
  - { name: rack1, cidr: 192.0.2.0/25 }
  - { name: rack2, cidr: 192.0.2.128/25 }
nodes:
  - { name: a1, segment: rack1 }
  - { name: a2, segment: rack1 }
  - { name: b1, segment: rack2 }
`;

describe("parseClusterFile", () => {
  test("numbers nodes per segment, adds the external segment and keeps the options", () => {
    const f = parseClusterFile(ok);
    expect(f.topology.nodes.map((n) => `${n.name} ${n.segment} ${n.address}`)).toEqual([
      "a1 rack1 192.0.2.11/25",
      "a2 rack1 192.0.2.12/25",
      "b1 rack2 192.0.2.139/25",
    ]);
    expect(f.topology.segments.map((s) => `${s.name} ${s.gateway}`)).toEqual([
      "rack1 192.0.2.1",
      "rack2 192.0.2.129",
      "ext 203.0.113.1",
    ]);
    expect(f.backend).toBe("vxlan");
    expect(f.podsPerNode).toBe(3);
  });

  test("refuses addresses outside the documentation ranges, overlaps, unknown segments and bad names", () => {
    const bad = [
      "segments: [{ name: lan, cidr: 10.0.0.0/24 }]\nnodes: [{ name: n1, segment: lan }]",
      "segments: [{ name: a, cidr: 192.0.2.0/24 }, { name: b, cidr: 192.0.2.128/25 }]\nnodes: [{ name: n1, segment: a }]",
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: nowhere }]",
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: external, segment: a }]",
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: vm, segment: a }]",
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]\nbackend: ospf",
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: []",
      "not: [valid",
    ];
    for (const text of bad) expect(() => parseClusterFile(text)).toThrow(ClusterFileError);
    expect(() => parseClusterFile(bad[0] as string)).toThrow("documentation range");
    expect(() => parseClusterFile(bad[4] as string)).toThrow('nodes[0].name "vm"');
  });

  test("backend bgp is kept (lab up adds the VM and the router's BIRD)", () => {
    const f = parseClusterFile(
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]\nbackend: bgp",
    );
    expect(f.backend).toBe("bgp");
  });
});

const dual = `
ipFamily: dual
clusterCidr: [10.244.0.0/16, fd00:10:244::/56]
serviceCidrs: [10.96.0.0/12, fd00:10:96::/112]
segments:
  - { name: lan1, cidr: 192.0.2.0/24, cidr6: 2001:db8:a::/64 }
  - { name: lan2, cidr: 198.51.100.0/25 }
nodes:
  - { name: n1, segment: lan1 }
  - { name: n2, segment: lan2 }
`;

describe("parseClusterFile with address families", () => {
  test("a dual file: both ranges per segment, cidr6 derived where absent, the external host in both", () => {
    const f = parseClusterFile(dual);
    expect(f.ipFamily).toBe("dual");
    expect(f.topology.nodes.map((n) => n.addresses)).toEqual([
      ["192.0.2.11/24", "2001:db8:a::11/64"],
      ["198.51.100.11/25", "2001:db8:2::11/64"],
    ]);
    expect(f.topology.segments.map((s) => `${s.name} ${s.gateways?.join(" ")}`)).toEqual([
      "lan1 192.0.2.1 2001:db8:a::1",
      "lan2 198.51.100.1 2001:db8:2::1",
      "ext 203.0.113.1 2001:db8:ff::1",
    ]);
    expect(f.topology.external.addresses).toEqual(["203.0.113.100/24", "2001:db8:ff::100/64"]);
    expect(f.clusterCidrs).toEqual(["10.244.0.0/16", "fd00:10:244::/56"]);
    expect(f.serviceCidrs).toEqual(["10.96.0.0/12", "fd00:10:96::/112"]);
  });

  test("the --ip-family flag overrides the file's; an ipv4 file needs no cidr6, an ipv6 lab no cidr", () => {
    const v4 = parseClusterFile(ok);
    expect(v4.ipFamily).toBe("ipv4");
    expect(v4.topology.nodes[0]?.addresses).toEqual(["192.0.2.11/25"]);
    const v6 = parseClusterFile(ok, { ipFamily: "ipv6" });
    expect(v6.topology.nodes.map((n) => n.address)).toEqual([
      "2001:db8:1::11/64",
      "2001:db8:1::12/64",
      "2001:db8:2::11/64",
    ]);
    const only6 = parseClusterFile(
      "ipFamily: ipv6\nclusterCidr: fd00:10:244::/56\nsegments: [{ name: a, cidr6: 2001:db8:5::/64 }]\nnodes: [{ name: n1, segment: a }]",
    );
    expect(only6.topology.nodes[0]?.addresses).toEqual(["2001:db8:5::11/64"]);
    expect(only6.topology.external.address).toBe("2001:db8:ff::100/64");
    expect(only6.clusterCidrs).toEqual(["fd00:10:244::/56"]);
  });

  test("refuses cidr6 outside 2001:db8::/32, overlaps per family, missing cidr and family mismatches", () => {
    const cases: [string, string][] = [
      [
        "ipFamily: dual\nsegments: [{ name: a, cidr: 192.0.2.0/24, cidr6: fd00:1::/64 }]\nnodes: [{ name: n1, segment: a }]",
        "documentation range (2001:db8::/32)",
      ],
      [
        "ipFamily: dual\nsegments: [{ name: a, cidr: 192.0.2.0/25, cidr6: 2001:db8:1::/64 }, { name: b, cidr: 192.0.2.128/25, cidr6: 2001:db8:1::/80 }]\nnodes: [{ name: n1, segment: a }]",
        "overlap",
      ],
      [
        "ipFamily: dual\nsegments: [{ name: a, cidr6: 2001:db8:1::/64 }]\nnodes: [{ name: n1, segment: a }]",
        "cidr is required",
      ],
      [
        "ipFamily: dual\nsegments: [{ name: a, cidr: 192.0.2.0/24, cidr6: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]",
        "must be an IPv6 range",
      ],
      [
        "ipFamily: ipv6\nsegments: [{ name: a, cidr6: 2001:db8:1::/121 }]\nnodes: [{ name: n1, segment: a }]",
        "/120 or larger",
      ],
      [
        "ipFamily: dual\nclusterCidr: 10.244.0.0/16\nsegments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]",
        "one range per family of the lab (dual, from ipFamily), in its order (IPv4, IPv6), not IPv4: list one per family in the file, or leave clusterCidr out",
      ],
      [
        "ipFamily: dual\nclusterCidr: [fd00:10:244::/56, 10.244.0.0/16]\nsegments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]",
        "not IPv6, IPv4",
      ],
      [
        "clusterCidr: 10.244.0.0/16\nclusterCidrs: [10.244.0.0/16]\nsegments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]",
        "cannot both be given",
      ],
      [
        "serviceCidrs: [bogus]\nsegments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]",
        "is not a CIDR",
      ],
      [
        "ipFamily: ipv5\nsegments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]",
        "ipFamily must be one of ipv4, ipv6, dual",
      ],
      [
        "ipFamily: ipv6\nsegments: [{ name: a, cidr6: 2001:db8:ff::/64 }]\nnodes: [{ name: n1, segment: a }]",
        "must leave 2001:db8:ff::/64 to the external host",
      ],
    ];
    for (const [text, reason] of cases) {
      expect(() => parseClusterFile(text)).toThrow(ClusterFileError);
      expect(() => parseClusterFile(text)).toThrow(reason);
    }
  });

  test("--ip-family changes the families: the lab's defaults when the file lists no ranges, else a refusal", () => {
    const plain = "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]";
    const f = parseClusterFile(plain, { ipFamily: "dual" });
    expect(f.ipFamily).toBe("dual");
    expect(f.clusterCidrs).toBeUndefined();
    expect(f.serviceCidrs).toBeUndefined();
    expect(() => parseClusterFile(`clusterCidr: 10.244.0.0/16\n${plain}`, { ipFamily: "dual" })).toThrow(
      "clusterCidr must give one range per family of the lab (dual, from --ip-family), in its order (IPv4, IPv6), not IPv4: list one per family in the file, or leave clusterCidr out for the lab's defaults",
    );
  });

  test("a clusterCidr given as one string stays a one-item list (ipv4)", () => {
    const f = parseClusterFile(
      "clusterCidr: 10.250.0.0/16\nsegments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]",
    );
    expect(f.clusterCidrs).toEqual(["10.250.0.0/16"]);
    expect(f.serviceCidrs).toBeUndefined();
  });
});

describe("parseClusterFile's pod and Service ranges", () => {
  const lab = (head: string, segments = "[{ name: a, cidr: 192.0.2.0/24 }]", nodes = 1) =>
    `${head}\nsegments: ${segments}\nnodes: [${Array.from({ length: nodes }, (_, i) => `{ name: n${i + 1}, segment: a }`).join(", ")}]`;
  const refused = (text: string, reason: string) => {
    expect(() => parseClusterFile(text)).toThrow(ClusterFileError);
    expect(() => parseClusterFile(text)).toThrow(reason);
  };

  test("pod and Service ranges that overlap, the file's or the lab's defaults, are refused", () => {
    refused(
      lab("ipFamily: dual\nclusterCidrs: [10.96.0.0/12, fd00:10:96::/48]"),
      'clusterCidrs "10.96.0.0/12" overlaps service CIDR "10.96.0.0/12"',
    );
    refused(
      lab("serviceCidr: 10.244.0.0/16"),
      `the lab's default cluster CIDR "10.244.0.0/16" overlaps service CIDR "10.244.0.0/16"`,
    );
  });

  test("the agent's own rules: special ranges, a service range too small, a node block that does not fit", () => {
    refused(lab("clusterCidr: 169.254.0.0/16"), 'clusterCidr "169.254.0.0/16" overlaps the link-local range');
    refused(lab("serviceCidr: 10.96.0.0/31"), 'serviceCidr "10.96.0.0/31" is too small: use /30 or shorter');
    refused(
      lab("clusterCidr: 10.244.0.0/25"),
      'clusterCidr is refused by the agent: Invalid IPv4 node block length "/24": is larger than cluster CIDR "10.244.0.0/25"',
    );
  });

  test("a range inside a segment of the underlay, the external one included, is refused", () => {
    refused(
      lab(
        "ipFamily: dual\nserviceCidrs: [10.96.0.0/12, 2001:db8:1::/112]",
        "[{ name: a, cidr: 192.0.2.0/24, cidr6: 2001:db8:1::/64 }]",
      ),
      'serviceCidrs "2001:db8:1::/112" overlaps segment "a" (2001:db8:1::/64): pod and Service addresses cannot be underlay addresses',
    );
    refused(
      lab("clusterCidr: 203.0.113.0/24"),
      'clusterCidr "203.0.113.0/24" overlaps segment "ext" (203.0.113.0/24)',
    );
  });

  test("a cluster CIDR with fewer node blocks of a family than nodes is refused", () => {
    const six = (cidr: string, nodes: number) =>
      lab(`ipFamily: ipv6\nclusterCidr: ${cidr}`, "[{ name: a, cidr6: 2001:db8:1::/64 }]", nodes);
    refused(
      six("fd00:10:244::/64", 2),
      'clusterCidr "fd00:10:244::/64" has room for 1 /64 node block, fewer than the 2 nodes',
    );
    refused(six("fd00:10:244::/63", 3), "has room for 2 /64 node blocks, fewer than the 3 nodes");
    expect(parseClusterFile(six("fd00:10:244::/63", 2)).clusterCidrs).toEqual(["fd00:10:244::/63"]);
    refused(
      lab("clusterCidr: 10.244.0.0/24", "[{ name: a, cidr: 192.0.2.0/24 }]", 2),
      'clusterCidr "10.244.0.0/24" has room for 1 /24 node block, fewer than the 2 nodes',
    );
  });

  test("a range holding the node-local DNS address (fd00::10 without IPv4) is refused", () => {
    const six = (head: string) => lab(`ipFamily: ipv6\n${head}`, "[{ name: a, cidr6: 2001:db8:1::/64 }]");
    refused(
      six("clusterCidr: fd00::/48"),
      'clusterCidr "fd00::/48" holds the node-local DNS address fd00::10, which every node holds itself',
    );
    refused(
      six("serviceCidr: fd00::/112"),
      'serviceCidr "fd00::/112" holds the node-local DNS address fd00::10',
    );
    // With IPv4 the agent's address is 169.254.20.10, so fd00::/48 is free to use.
    expect(
      parseClusterFile(
        lab("ipFamily: dual\nclusterCidrs: [10.244.0.0/16, fd00::/48]", "[{ name: a, cidr: 192.0.2.0/24 }]"),
      ).clusterCidrs,
    ).toEqual(["10.244.0.0/16", "fd00::/48"]);
  });

  test("every range is kept in canonical text", () => {
    const f = parseClusterFile(
      lab(
        "ipFamily: dual\nclusterCidrs: [10.244.0.0/16, FD00:10:244:0000::/56]\nserviceCidrs: [10.96.0.0/12, fd00:0010:0096:0:0:0:0:0/112]",
        "[{ name: a, cidr: 192.0.2.0/24, cidr6: 2001:0db8:0001:0000::/64 }]",
      ),
    );
    expect(f.clusterCidrs).toEqual(["10.244.0.0/16", "fd00:10:244::/56"]);
    expect(f.serviceCidrs).toEqual(["10.96.0.0/12", "fd00:10:96::/112"]);
    expect(f.topology.segments[0]?.cidrs).toEqual(["192.0.2.0/24", "2001:db8:1::/64"]);
    expect(f.topology.nodes[0]?.addresses).toEqual(["192.0.2.11/24", "2001:db8:1::11/64"]);
  });

  test("a segment with no room for a host says which (topology's numbering)", () => {
    refused(
      lab("", "[{ name: a, cidr: 192.0.2.0/24 }, { name: ext, cidr: 198.51.100.0/26 }]"),
      'Invalid cluster file: segment "ext" (198.51.100.0/26) has no room for external',
    );
  });
});

test("examples/cluster-dual.yaml parses: four dual nodes, the edge segment's IPv6 range derived", () => {
  const f = parseClusterFile(readFileSync(`${import.meta.dir}/../../examples/cluster-dual.yaml`, "utf8"));
  expect(f.ipFamily).toBe("dual");
  expect(f.topology.nodes.map((n) => `${n.name} ${n.addresses?.join(" ")}`)).toEqual([
    "a1 192.0.2.11/25 2001:db8:1::11/64",
    "a2 192.0.2.12/25 2001:db8:1::12/64",
    "b1 192.0.2.139/25 2001:db8:2::11/64",
    "c1 198.51.100.11/24 2001:db8:3::11/64",
  ]);
});

test("examples/cluster.yaml lists no ranges, so --ip-family can make it dual or IPv6 with the lab's defaults", () => {
  const text = readFileSync(`${import.meta.dir}/../../examples/cluster.yaml`, "utf8");
  const v4 = parseClusterFile(text);
  expect(v4.ipFamily).toBe("ipv4");
  expect(v4.topology.nodes.map((n) => n.address)).toEqual([
    "192.0.2.11/25",
    "192.0.2.12/25",
    "192.0.2.139/25",
    "198.51.100.11/24",
  ]);
  const dual = parseClusterFile(text, { ipFamily: "dual" });
  expect(dual.topology.nodes.map((n) => n.addresses?.[1])).toEqual([
    "2001:db8:1::11/64",
    "2001:db8:1::12/64",
    "2001:db8:2::11/64",
    "2001:db8:3::11/64",
  ]);
  expect(dual.clusterCidrs).toBeUndefined();
  expect(parseClusterFile(text, { ipFamily: "ipv6" }).topology.external.addresses).toEqual([
    "2001:db8:ff::100/64",
  ]);
});
