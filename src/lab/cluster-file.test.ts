import { describe, expect, test } from "bun:test";
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
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: [{ name: n1, segment: a }]\nbackend: bgp",
      "segments: [{ name: a, cidr: 192.0.2.0/24 }]\nnodes: []",
      "not: [valid",
    ];
    for (const text of bad) expect(() => parseClusterFile(text)).toThrow(ClusterFileError);
    expect(() => parseClusterFile(bad[0] as string)).toThrow("documentation range");
  });
});
