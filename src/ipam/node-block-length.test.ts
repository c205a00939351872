import { describe, expect, test } from "bun:test";
import { parsePrefix } from "../ipnet/prefix.ts";
import { ClusterConfigError } from "./cluster-errors.ts";
import {
  blockLengthForPods,
  parseBlockLength,
  podsPerBlock,
  resolveNodeBlockLengths,
} from "./node-block-length.ts";

const p = (text: string) => parsePrefix(text);

describe("blockLengthForPods", () => {
  test("the smallest IPv4 block holding the pods plus network, gateway and broadcast", () => {
    expect(blockLengthForPods(4, 1)).toBe(30);
    expect(blockLengthForPods(4, 110)).toBe(25); // 113 addresses → 128
    expect(blockLengthForPods(4, 125)).toBe(25); // exactly 128
    expect(blockLengthForPods(4, 126)).toBe(24);
    expect(blockLengthForPods(4, 253)).toBe(24);
    expect(blockLengthForPods(4, 254)).toBe(23);
  });

  test("IPv6 reserves only network and gateway", () => {
    expect(blockLengthForPods(6, 2)).toBe(126);
    expect(blockLengthForPods(6, 3)).toBe(125);
    expect(blockLengthForPods(6, 110)).toBe(121);
    expect(blockLengthForPods(6, 126)).toBe(121);
    expect(blockLengthForPods(6, 127)).toBe(120);
  });

  test("the derived block really holds the pods and the next longer one does not", () => {
    for (const family of [4, 6] as const) {
      for (let pods = 1; pods < 3000; pods += 7) {
        const length = blockLengthForPods(family, pods);
        expect(podsPerBlock(family, length)).toBeGreaterThanOrEqual(BigInt(pods));
        if (length < (family === 4 ? 30 : 126)) {
          expect(podsPerBlock(family, length + 1)).toBeLessThan(BigInt(pods));
        }
      }
    }
  });
});

describe("parseBlockLength", () => {
  test("accepts /N and N", () => {
    expect(parseBlockLength("/24")).toBe(24);
    expect(parseBlockLength("64")).toBe(64);
  });
  test("rejects other text, naming it", () => {
    for (const bad of ["", "/", "24.0", "/024", "abc", "-1", "/24/"]) {
      expect(() => parseBlockLength(bad)).toThrow(ClusterConfigError);
    }
    expect(() => parseBlockLength("x24")).toThrow('Invalid node block length "x24"');
  });
});

describe("resolveNodeBlockLengths", () => {
  test("defaults to /24 and /64 for the families present", () => {
    expect(resolveNodeBlockLengths([p("10.0.0.0/8")])).toEqual({ ipv4: 24 });
    expect(resolveNodeBlockLengths([p("fd00::/48")])).toEqual({ ipv6: 64 });
    expect(resolveNodeBlockLengths([p("10.0.0.0/8"), p("fd00::/48")])).toEqual({ ipv4: 24, ipv6: 64 });
  });

  test("explicit lengths and max pods", () => {
    expect(resolveNodeBlockLengths([p("10.0.0.0/8")], { nodeBlockLength: { ipv4: 26 } })).toEqual({
      ipv4: 26,
    });
    expect(resolveNodeBlockLengths([p("10.0.0.0/8"), p("fd00::/48")], { maxPodsPerNode: 110 })).toEqual({
      ipv4: 25,
      ipv6: 121,
    });
  });

  test("a block larger than a cluster CIDR is refused, naming the CIDR", () => {
    expect(() => resolveNodeBlockLengths([p("10.0.0.0/8"), p("10.200.0.0/25")])).toThrow(
      'Invalid IPv4 node block length "/24": is larger than cluster CIDR "10.200.0.0/25"',
    );
  });

  test("a block without room for a pod is refused", () => {
    expect(() => resolveNodeBlockLengths([p("10.0.0.0/8")], { nodeBlockLength: { ipv4: 31 } })).toThrow(
      "leaves no address for a pod",
    );
    expect(() => resolveNodeBlockLengths([p("fd00::/48")], { nodeBlockLength: { ipv6: 127 } })).toThrow(
      "leaves no address for a pod",
    );
    expect(resolveNodeBlockLengths([p("fd00::/48")], { nodeBlockLength: { ipv6: 80 } })).toEqual({
      ipv6: 80,
    });
  });

  test("a length for a family without cluster CIDR, both options, or bad max pods are refused", () => {
    expect(() => resolveNodeBlockLengths([p("10.0.0.0/8")], { nodeBlockLength: { ipv6: 64 } })).toThrow(
      "there is no IPv6 cluster CIDR",
    );
    expect(() =>
      resolveNodeBlockLengths([p("10.0.0.0/8")], { nodeBlockLength: { ipv4: 24 }, maxPodsPerNode: 110 }),
    ).toThrow("not both");
    expect(() => resolveNodeBlockLengths([p("10.0.0.0/8")], { maxPodsPerNode: 0 })).toThrow(
      "must be a positive integer",
    );
    expect(() => resolveNodeBlockLengths([p("10.0.0.0/16")], { maxPodsPerNode: 100_000 })).toThrow(
      'Invalid max pods per node "100000": needs a /15 IPv4 block per node, larger than cluster CIDR "10.0.0.0/16"',
    );
  });
});
