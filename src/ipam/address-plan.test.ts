import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { ipFromBigint } from "../ipnet/address.ts";
import { formatPrefix, type IPPrefix, lastIP, parsePrefix, prefixFromIP } from "../ipnet/prefix.ts";
import { findOverlaps, type Overlap, type PlanRange, planAddresses, type RangeKind } from "./address-plan.ts";
import { ClusterConfigError } from "./cluster-errors.ts";

const p = (text: string) => parsePrefix(text);
const r = (kind: RangeKind, text: string): PlanRange => ({ kind, cidr: p(text) });
const shown = (o: Overlap) => [
  `${o.a.kind} ${formatPrefix(o.a.cidr)}`,
  `${o.b.kind} ${formatPrefix(o.b.cidr)}`,
  formatPrefix(o.overlap),
];

describe("findOverlaps", () => {
  test("a /8 pod range swallows the default /12 service range", () => {
    expect(findOverlaps([r("pod", "10.0.0.0/8"), r("service", "10.96.0.0/12")]).map(shown)).toEqual([
      ["pod 10.0.0.0/8", "service 10.96.0.0/12", "10.96.0.0/12"],
    ]);
  });

  test("a node network containing a VPN range", () => {
    expect(findOverlaps([r("node", "192.168.0.0/16"), r("avoid", "192.168.1.0/24")]).map(shown)).toEqual([
      ["node 192.168.0.0/16", "avoid 192.168.1.0/24", "192.168.1.0/24"],
    ]);
  });

  test("no overlap across families or between neighbours; same-kind overlaps count", () => {
    expect(findOverlaps([r("pod", "0.0.0.0/0"), r("service", "::/0")])).toEqual([]);
    expect(findOverlaps([r("pod", "10.0.0.0/16"), r("pod", "10.1.0.0/16")])).toEqual([]);
    expect(findOverlaps([r("pod", "10.0.0.0/16"), r("pod", "10.0.128.0/17")]).map(shown)).toEqual([
      ["pod 10.0.0.0/16", "pod 10.0.128.0/17", "10.0.128.0/17"],
    ]);
    expect(findOverlaps([r("avoid", "fd00::/48"), r("avoid", "fd00::/48")]).map(shown)).toEqual([
      ["avoid fd00::/48", "avoid fd00::/48", "fd00::/48"],
    ]);
  });

  test("property: symmetric and exact against a brute-force intersection", () => {
    const random = mulberry32(11);
    // Small prefixes inside 10.0.0.0/24, so that many pairs overlap; the expected intersection
    // is computed from the two address spans, independent of prefix containment.
    const randomPrefix = (): IPPrefix => {
      const length = 24 + Math.floor(random() * 9);
      return prefixFromIP(ipFromBigint(4, 0x0a000000n + BigInt(Math.floor(random() * 256))), length);
    };
    const kinds: RangeKind[] = ["pod", "service", "node", "avoid"];
    for (let n = 0; n < 2000; n++) {
      const a: PlanRange = { kind: kinds[Math.floor(random() * 4)]!, cidr: randomPrefix() };
      const b: PlanRange = { kind: kinds[Math.floor(random() * 4)]!, cidr: randomPrefix() };
      const forward = findOverlaps([a, b]);
      const backward = findOverlaps([b, a]);
      expect(forward.length).toBe(backward.length);
      const lo = (x: IPPrefix) => x.network.value;
      const hi = (x: IPPrefix) => lastIP(x).value;
      const byValue = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
      const start = [lo(a.cidr), lo(b.cidr)].sort(byValue)[1]!; // the later start
      const end = [hi(a.cidr), hi(b.cidr)].sort(byValue)[0]!; // the earlier end
      if (start > end) {
        expect(forward).toEqual([]);
        continue;
      }
      expect(forward).toHaveLength(1);
      expect(forward[0]!.overlap).toEqual(backward[0]!.overlap);
      expect(forward[0]!.a).toBe(a);
      expect(forward[0]!.b).toBe(b);
      expect(lo(forward[0]!.overlap)).toBe(start);
      expect(hi(forward[0]!.overlap)).toBe(end);
    }
  });
});

describe("planAddresses", () => {
  test("capacity with default /24 blocks", () => {
    const plan = planAddresses({ clusterCidrs: ["10.244.0.0/16"] });
    expect(plan.nodes).toEqual({ ipv4: 256n });
    expect(plan.podsPerNode).toEqual({ ipv4: 253n });
    expect(plan.serviceIPs).toEqual({ ipv4: 1_048_574n });
    expect(plan.nodeBlockLength).toEqual({ ipv4: 24 });
    expect(plan.overlaps).toEqual([]);
    expect(plan.warnings).toEqual([]);
  });

  test("max pods per node and dual stack", () => {
    const plan = planAddresses({
      clusterCidrs: ["10.244.0.0/16", "10.245.0.0/17", "fd00:10::/56"],
      maxPodsPerNode: 110,
      serviceCidrs: ["10.96.0.0/16", "fd00:96::/112"],
    });
    expect(plan.nodeBlockLength).toEqual({ ipv4: 25, ipv6: 121 });
    expect(plan.nodes).toEqual({ ipv4: 512n + 256n, ipv6: 1n << 65n });
    expect(plan.podsPerNode).toEqual({ ipv4: 125n, ipv6: 126n });
    expect(plan.serviceIPs).toEqual({ ipv4: 65_534n, ipv6: 65_535n });
  });

  test("every overlap between pod, service, node and avoided ranges, in input order", () => {
    const plan = planAddresses({
      clusterCidrs: ["10.0.0.0/8"],
      nodeNetworks: ["192.168.0.0/16", "10.10.0.0/24"],
      avoid: ["192.168.1.0/24", "172.16.0.0/12"],
    });
    expect(plan.overlaps.map(shown)).toEqual([
      ["pod 10.0.0.0/8", "service 10.96.0.0/12", "10.96.0.0/12"],
      ["pod 10.0.0.0/8", "node 10.10.0.0/24", "10.10.0.0/24"],
      ["node 192.168.0.0/16", "avoid 192.168.1.0/24", "192.168.1.0/24"],
    ]);
  });

  test("warnings: few nodes, a family without Services, Services without pods, public ranges", () => {
    const plan = planAddresses({
      clusterCidrs: ["10.244.0.0/22", "fd00::/64"],
      nodeBlockLength: { ipv4: 24, ipv6: 64 },
      serviceCidrs: ["8.8.0.0/16"],
    });
    expect(plan.warnings.map((w) => w.code)).toEqual([
      "few-nodes",
      "few-nodes",
      "pod-family-without-services",
      "public-range",
    ]);
    expect(plan.warnings[0]!.message).toBe('only 4 IPv4 nodes fit: /24 blocks in "10.244.0.0/22"');
    expect(plan.warnings[1]!.message).toBe('only 1 IPv6 node fit: /64 blocks in "fd00::/64"');
    const v6Services = planAddresses({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["fd00::/112"] });
    expect(v6Services.warnings.map((w) => w.code)).toEqual([
      "pod-family-without-services",
      "service-family-without-pods",
    ]);
  });

  test("invalid ranges and block lengths are errors naming the value", () => {
    expect(() => planAddresses({ clusterCidrs: [] })).toThrow(ClusterConfigError);
    expect(() => planAddresses({ clusterCidrs: ["10.0.0.1/8"] })).toThrow(
      'Invalid cluster CIDR "10.0.0.1/8"',
    );
    expect(() => planAddresses({ clusterCidrs: ["10.0.0.0/8"], avoid: ["nope"] })).toThrow(
      'Invalid range to avoid "nope"',
    );
    expect(() => planAddresses({ clusterCidrs: ["10.0.0.0/8"], nodeNetworks: ["192.168.1.1/24"] })).toThrow(
      'Invalid node network "192.168.1.1/24": host bits are set (did you mean "192.168.1.0/24"?)',
    );
    expect(() => planAddresses({ clusterCidrs: ["10.244.0.0/16"], nodeBlockLength: { ipv4: 8 } })).toThrow(
      "is larger than cluster CIDR",
    );
  });
});
