import { describe, expect, test } from "bun:test";
import type { NodeRecord } from "../cluster/node-record.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { checkIpam, summarizeIpam } from "./ipam-audit.ts";

const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/22"] });
const node = (name: string): NodeRecord => ({
  name,
  nodeIPs: ["192.0.2.1"],
  blocks: [],
  backend: "auto",
  vtepMac: "02:00:00:00:00:01",
});
const lease = (n: string, b: string) => ({ node: n, block: parsePrefix(b) });
const report = (n: string, block: string, allocated: string[], orphaned: string[] = []) => ({
  node: n,
  at: "",
  blocks: [{ block, allocated, orphaned }],
  outside: [],
});

describe("summarizeIpam", () => {
  test("counts blocks per cluster CIDR and addresses per node block", () => {
    const s = summarizeIpam({
      config,
      leases: [lease("a", "10.244.0.0/24"), lease("b", "10.244.1.0/24")],
      nodes: [node("a")],
      reports: [report("a", "10.244.0.0/24", ["10.244.0.2", "10.244.0.3"])],
    });
    expect(s.cidrs).toEqual([
      { cidr: "10.244.0.0/22", blockLength: 24, totalBlocks: 4n, usedBlocks: 2, freeBlocks: 2n },
    ]);
    expect(s.blocks[0]).toEqual({
      block: "10.244.0.0/24",
      node: "a",
      nodeAlive: true,
      total: 253n,
      used: 2,
      free: 251n,
      orphaned: 0,
    });
    expect(s.blocks[1]).toMatchObject({ node: "b", nodeAlive: false, used: undefined });
  });
});

describe("checkIpam", () => {
  test("a healthy cluster has no problems", () => {
    expect(
      checkIpam({
        config,
        leases: [lease("a", "10.244.0.0/24")],
        nodes: [node("a")],
        reports: [report("a", "10.244.0.0/24", ["10.244.0.2"])],
      }),
    ).toEqual([]);
  });

  test("finds duplicates, leaks, addresses outside blocks, blocks without a live node and overlaps", () => {
    const problems = checkIpam({
      config,
      leases: [lease("a", "10.244.0.0/24"), lease("b", "10.244.0.0/24"), lease("gone", "10.244.2.0/24")],
      nodes: [node("a"), node("b"), node("silent")],
      reports: [
        report("a", "10.244.0.0/24", ["10.244.0.2", "10.244.0.3"], ["10.244.0.3"]),
        report("b", "10.244.0.0/24", ["10.244.0.2", "10.244.9.9"]),
      ],
    });
    const kinds = problems.map((p) => p.kind).sort();
    expect(kinds).toEqual([
      "allocation-outside-block",
      "allocation-without-pod",
      "block-without-live-node",
      "duplicate-address",
      "node-without-report",
      "overlapping-blocks",
    ]);
    expect(problems.find((p) => p.kind === "duplicate-address")?.message).toBe(
      "10.244.0.2 is allocated on a and b",
    );
  });
});
