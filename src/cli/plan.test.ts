import { describe, expect, test } from "bun:test";
import { ClusterConfigError } from "../ipam/cluster-errors.ts";
import { parseArgs, UsageError } from "./args.ts";
import { planCommand } from "./plan.ts";

function run(...argv: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = planCommand(parseArgs(argv, ["json"]), { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe("podnet plan", () => {
  test("prints capacity as a table and exits 0 for a clean plan", () => {
    const { code, out, err } = run("--cluster-cidr", "10.244.0.0/16", "--node-network", "192.168.0.0/24");
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out[0]).toMatch(/^family\s+cluster CIDRs\s+node block\s+nodes\s+pods per node\s+pods$/);
    expect(out[1]).toMatch(/^IPv4\s+10\.244\.0\.0\/16\s+\/24\s+256\s+253\s+64,768$/);
    expect(out).toContainEqual(
      expect.stringMatching(/^10\.96\.0\.0\/12\s+IPv4\s+1,048,574\s+10\.96\.0\.1-10\.96\.1\.0$/),
    );
    expect(out).toContain("node networks: 192.168.0.0/24");
  });

  test("every overlap is an error line naming both ranges and the shared part; exit 1", () => {
    const { code, err } = run(
      "--cluster-cidr",
      "10.0.0.0/8",
      "--node-network",
      "192.168.0.0/16",
      "--avoid",
      "192.168.1.0/24",
    );
    expect(code).toBe(1);
    expect(err).toEqual([
      'error: pod range "10.0.0.0/8" overlaps service range "10.96.0.0/12" in 10.96.0.0/12',
      'error: node network "192.168.0.0/16" overlaps avoided range "192.168.1.0/24" in 192.168.1.0/24',
      "podnet: the plan has 2 overlaps; change the ranges before creating the cluster",
    ]);
  });

  test("--json: the same facts as data, big counts as strings", () => {
    const { code, out } = run(
      "--cluster-cidr",
      "10.0.0.0/8",
      "--cluster-cidr",
      "fd00::/48",
      "--max-pods",
      "110",
      "--service-cidr",
      "172.20.0.0/16",
      "--service-cidr",
      "fd01::/108",
      "--json",
    );
    expect(code).toBe(0);
    const json = JSON.parse(out.join("\n"));
    expect(json.ok).toBe(true);
    expect(json.families).toEqual([
      { family: "ipv4", nodeBlockLength: 25, nodes: 131072, podsPerNode: 125, pods: 16384000 },
      {
        family: "ipv6",
        nodeBlockLength: 121,
        nodes: (1n << 73n).toString(),
        podsPerNode: 126,
        pods: ((1n << 73n) * 126n).toString(),
      },
    ]);
    expect(json.services).toEqual([
      { cidr: "172.20.0.0/16", family: "ipv4", clusterIPs: 65534, staticBand: "172.20.0.1-172.20.1.0" },
      { cidr: "fd01::/108", family: "ipv6", clusterIPs: 1048575, staticBand: "fd01::1-fd01::100" },
    ]);
    expect(json.overlaps).toEqual([]);
  });

  test("--json with an overlap still exits 1 and lists it", () => {
    const { code, out } = run("--cluster-cidr", "10.0.0.0/8", "--json");
    expect(code).toBe(1);
    const json = JSON.parse(out.join("\n"));
    expect(json.ok).toBe(false);
    expect(json.overlaps).toEqual([
      {
        a: { kind: "pod", cidr: "10.0.0.0/8" },
        b: { kind: "service", cidr: "10.96.0.0/12" },
        overlap: "10.96.0.0/12",
        message: 'pod range "10.0.0.0/8" overlaps service range "10.96.0.0/12" in 10.96.0.0/12',
      },
    ]);
  });

  test("--node-block: bare for single stack, per family for dual stack", () => {
    const single = JSON.parse(
      run("--cluster-cidr", "10.244.0.0/16", "--node-block", "26", "--json").out.join(""),
    );
    expect(single.families[0].nodeBlockLength).toBe(26);
    const dual = JSON.parse(
      run(
        "--cluster-cidr",
        "10.244.0.0/16",
        "--cluster-cidr",
        "fd00::/48",
        "--node-block",
        "v4=/25",
        "--node-block",
        "ipv6=80",
        "--json",
      ).out.join(""),
    );
    expect(dual.families.map((f: { nodeBlockLength: number }) => f.nodeBlockLength)).toEqual([25, 80]);
    expect(() =>
      run("--cluster-cidr", "10.244.0.0/16", "--cluster-cidr", "fd00::/48", "--node-block", "/24"),
    ).toThrow("a dual-stack plan needs one per family");
  });

  test("usage errors and invalid values", () => {
    expect(() => run()).toThrow(UsageError);
    expect(() => run("--cluster-cidr", "10.244.0.0/16", "--bogus", "1")).toThrow("unknown option --bogus");
    expect(() => run("--cluster-cidr", "10.244.0.0/16", "--node-block", "24", "--max-pods", "110")).toThrow(
      "exclude each other",
    );
    expect(() => run("--cluster-cidr", "10.244.0.0/16", "--max-pods", "lots")).toThrow(
      '--max-pods "lots" must be a positive integer',
    );
    expect(() => run("--cluster-cidr", "10.244.0.0/16", "--node-block", "x")).toThrow(ClusterConfigError);
    expect(() => run("--cluster-cidr", "10.244.0.1/16")).toThrow('Invalid cluster CIDR "10.244.0.1/16"');
  });
});
