import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import {
  containsPrefix,
  formatPrefix,
  type IPPrefix,
  nthSubnet,
  parsePrefix,
  prefixesOverlap,
  subnets,
} from "../ipnet/prefix.ts";
import { blockCapacity, blockProblem, chooseBlock } from "./block-allocator.ts";
import { addClusterCidr, buildClusterConfig, type ClusterConfig } from "./cluster-config.ts";
import { BlockExhaustedError } from "./cluster-errors.ts";

const p = (text: string) => parsePrefix(text);

describe("chooseBlock", () => {
  const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"] });

  test("the first free block, skipping taken ones", () => {
    expect(formatPrefix(chooseBlock(config, 4, []))).toBe("10.244.0.0/24");
    expect(formatPrefix(chooseBlock(config, 4, [p("10.244.0.0/24"), p("10.244.1.0/24")]))).toBe(
      "10.244.2.0/24",
    );
    expect(formatPrefix(chooseBlock(config, 4, [p("10.244.0.0/24"), p("10.244.2.0/24")]))).toBe(
      "10.244.1.0/24",
    );
  });

  test("taken prefixes of other lengths (an older block size, a hand reservation) block what they touch", () => {
    expect(formatPrefix(chooseBlock(config, 4, [p("10.244.0.0/22")]))).toBe("10.244.4.0/24");
    expect(formatPrefix(chooseBlock(config, 4, [p("10.244.0.128/25")]))).toBe("10.244.1.0/24");
    expect(formatPrefix(chooseBlock(config, 4, [p("10.0.0.0/24"), p("fd00::/64")]))).toBe("10.244.0.0/24");
  });

  test("the node's previous block comes back when it is still free", () => {
    const previous = p("10.244.7.0/24");
    expect(chooseBlock(config, 4, [p("10.244.0.0/24")], previous)).toBe(previous);
  });

  test("a previous block now taken, misshapen or outside the cluster is ignored", () => {
    const taken = [p("10.244.0.0/24"), p("10.244.7.0/24")];
    expect(formatPrefix(chooseBlock(config, 4, taken, p("10.244.7.0/24")))).toBe("10.244.1.0/24");
    expect(formatPrefix(chooseBlock(config, 4, taken, p("10.244.8.0/25")))).toBe("10.244.1.0/24");
    expect(formatPrefix(chooseBlock(config, 4, taken, p("10.245.8.0/24")))).toBe("10.244.1.0/24");
    expect(formatPrefix(chooseBlock(config, 4, taken, p("fd00::/64")))).toBe("10.244.1.0/24");
  });

  test("cluster CIDRs are used in order, so an added one fills after the original", () => {
    const small = buildClusterConfig({ clusterCidrs: ["10.244.0.0/23"] });
    const grown = addClusterCidr(small, "10.250.0.0/23");
    expect(() => chooseBlock(small, 4, [p("10.244.0.0/24"), p("10.244.1.0/24")])).toThrow(
      BlockExhaustedError,
    );
    expect(formatPrefix(chooseBlock(grown, 4, [p("10.244.0.0/24"), p("10.244.1.0/24")]))).toBe(
      "10.250.0.0/24",
    );
    expect(formatPrefix(chooseBlock(grown, 4, [p("10.244.1.0/24")]))).toBe("10.244.0.0/24");
  });

  test("exhaustion names every CIDR of the family", () => {
    const both = addClusterCidr(buildClusterConfig({ clusterCidrs: ["10.244.0.0/24"] }), "10.250.0.0/24");
    expect(() => chooseBlock(both, 4, [p("10.244.0.0/24"), p("10.250.0.0/24")])).toThrow(
      'Cannot allocate a /24 node block in "10.244.0.0/24", "10.250.0.0/24": every block is taken',
    );
  });

  test("a /8 of /24s with 60000 taken blocks answers at once", () => {
    const big = buildClusterConfig({ clusterCidrs: ["10.0.0.0/8"], serviceCidrs: ["172.16.0.0/16"] });
    const cidr = p("10.0.0.0/8");
    const taken: IPPrefix[] = [];
    for (let i = 0n; i < 60_000n; i++) if (i !== 40_000n) taken.push(nthSubnet(cidr, 24, i));
    taken.reverse(); // unsorted input
    const started = performance.now();
    expect(chooseBlock(big, 4, taken)).toEqual(nthSubnet(cidr, 24, 40_000n));
    taken.push(nthSubnet(cidr, 24, 40_000n));
    expect(chooseBlock(big, 4, taken)).toEqual(nthSubnet(cidr, 24, 60_000n));
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("IPv6: a /32 of /64s without listing 2^32 blocks", () => {
    const v6 = buildClusterConfig({ clusterCidrs: ["fd00::/32"], serviceCidrs: ["fd01::/108"] });
    expect(formatPrefix(chooseBlock(v6, 6, [p("fd00::/64"), p("fd00:0:0:1::/64")]))).toBe("fd00:0:0:2::/64");
    expect(formatPrefix(chooseBlock(v6, 6, [p("fd00::/33")]))).toBe("fd00:0:8000::/64");
    expect(blockCapacity(v6, 6)).toEqual({
      family: 6,
      blockLength: 64,
      blocks: 1n << 32n,
      addressesPerBlock: 1n << 64n,
      podsPerBlock: (1n << 64n) - 2n,
    });
  });
});

describe("chooseBlock in a dual-stack cluster", () => {
  test("each family is chosen from its own CIDRs, keeping its own previous block", () => {
    const config = buildClusterConfig({
      clusterCidrs: ["fd00::/56", "10.244.0.0/16"],
      serviceCidrs: ["10.96.0.0/12"],
    });
    const taken = [p("10.244.0.0/24")];
    expect(formatPrefix(chooseBlock(config, 6, taken))).toBe("fd00::/64");
    expect(formatPrefix(chooseBlock(config, 4, taken))).toBe("10.244.1.0/24");
    expect(formatPrefix(chooseBlock(config, 6, [], p("fd00:0:0:5::/64")))).toBe("fd00:0:0:5::/64");
    expect(formatPrefix(chooseBlock(config, 4, [], p("10.244.9.0/24")))).toBe("10.244.9.0/24");
    // A previous block of the other family is not this family's.
    expect(formatPrefix(chooseBlock(config, 6, [], p("10.244.9.0/24")))).toBe("fd00::/64");
  });
});

describe("blockProblem and capacity", () => {
  const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], nodeBlockLength: { ipv4: 26 } });
  test("explains why a block is not a node block", () => {
    expect(blockProblem(config, p("10.244.3.64/26"))).toBeUndefined();
    expect(blockProblem(config, p("10.244.3.0/24"))).toBe("is a /24, but IPv4 node blocks are /26");
    expect(blockProblem(config, p("10.245.0.0/26"))).toBe('is not inside any cluster CIDR ("10.244.0.0/16")');
    expect(blockProblem(config, p("fd00::/64"))).toBe("the cluster has no IPv6 cluster CIDR");
  });
  test("capacity: blocks and usable pod addresses", () => {
    expect(blockCapacity(config, 4)).toEqual({
      family: 4,
      blockLength: 26,
      blocks: 1024n,
      addressesPerBlock: 64n,
      podsPerBlock: 61n,
    });
  });
});

/** Simulates agents leasing and releasing blocks, as the store-backed lease manager will. */
function simulate(seed: number, steps: number, start: ClusterConfig, grow?: string) {
  const random = mulberry32(seed);
  let config = start;
  const held = new Map<string, IPPrefix>(); // node → block
  const history = new Map<string, IPPrefix>(); // node → last block it held
  let grown = false;
  for (let step = 0; step < steps; step++) {
    const node = `node-${Math.floor(random() * 40)}`;
    const current = held.get(node);
    if (current !== undefined && random() < 0.5) {
      held.delete(node);
      continue;
    }
    if (current !== undefined) continue;
    if (grow !== undefined && !grown && step > steps / 2) {
      config = addClusterCidr(config, grow);
      grown = true;
    }
    const taken = [...held.values()];
    const total = blockCapacity(config, 4).blocks;
    const previous = history.get(node);
    let block: IPPrefix;
    try {
      block = chooseBlock(config, 4, taken, previous);
    } catch (error) {
      expect(error).toBeInstanceOf(BlockExhaustedError);
      expect(BigInt(taken.length)).toBe(total); // exhausted only when truly full
      continue;
    }
    expect(blockProblem(config, block)).toBeUndefined();
    expect(config.clusterCidrs.some((c) => containsPrefix(c, block))).toBe(true);
    expect(taken.some((t) => prefixesOverlap(t, block))).toBe(false);
    if (previous !== undefined && !taken.some((t) => prefixesOverlap(t, previous)))
      expect(block).toBe(previous);
    if (previous === undefined) {
      // Without a history the choice is the first free block in CIDR order.
      const all = config.clusterCidrs.flatMap((c) => [...subnets(c, 26)]);
      const first = all.find((b) => !taken.some((t) => prefixesOverlap(t, b)));
      expect(block).toEqual(first!);
    }
    held.set(node, block);
    history.set(node, block);
  }
}

describe("property: random lease/release sequences", () => {
  test("never one block twice, always inside the cluster CIDRs, exhausted only when full", () => {
    const config = addClusterCidr(
      buildClusterConfig({ clusterCidrs: ["10.244.0.0/24"], nodeBlockLength: { ipv4: 26 } }),
      "10.250.0.128/25",
    );
    for (let seed = 1; seed <= 20; seed++) simulate(seed, 400, config);
  });

  test("the same while a cluster CIDR is added mid-run", () => {
    const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/23"], nodeBlockLength: { ipv4: 26 } });
    for (let seed = 100; seed <= 110; seed++) simulate(seed, 600, config, "10.251.0.0/24");
  });
});
