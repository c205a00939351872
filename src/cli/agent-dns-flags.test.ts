import { describe, expect, test } from "bun:test";
import { clusterDnsFlags } from "./agent-dns-flags.ts";
import { parseArgs, UsageError } from "./args.ts";

const RESOLV = "search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver 2001:db8::53\n";

/** `resolvConf` null: the file cannot be read. */
function dnsFlags(argv: string[], resolvConf: string | null = RESOLV) {
  let read = 0;
  const out = clusterDnsFlags(parseArgs(argv), () => {
    read++;
    return resolvConf ?? undefined;
  });
  return { ...out, read };
}

function usageError(argv: string[]): string {
  try {
    dnsFlags(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
}

describe("podnet agent: cluster DNS flags", () => {
  test("by default: cluster.local on 169.254.20.10, forwarding to the node's resolvers but its local stub", () => {
    const out = dnsFlags([]);
    expect(out.clusterDomain).toBe("cluster.local");
    expect(out.dns).toEqual({ address: "169.254.20.10", upstreams: ["10.0.0.2", "2001:db8::53"] });
    expect(out.read).toBe(1);
  });

  test("an IPv6-only cluster defaults to fd00::10; a dual-stack or IPv4 one keeps 169.254.20.10", () => {
    expect(dnsFlags(["--cluster-cidr", "fd00:10:244::/56"]).dns?.address).toBe("fd00::10");
    expect(
      dnsFlags(["--cluster-cidr", "10.244.0.0/16", "--cluster-cidr", "fd00:10:244::/56"]).dns?.address,
    ).toBe("169.254.20.10");
    expect(dnsFlags(["--cluster-cidr", "10.244.0.0/16"]).dns?.address).toBe("169.254.20.10");
    // A given address wins; the resolvers' own address is left out of the upstreams either way.
    expect(
      dnsFlags(["--cluster-cidr", "fd00:10:244::/56", "--dns-address", "fd00::53"], "nameserver fd00::10\n")
        .dns,
    ).toEqual({ address: "fd00::53", upstreams: ["fd00::10"] });
    expect(
      dnsFlags(["--cluster-cidr", "fd00:10:244::/56"], "nameserver fd00::10\nnameserver 10.0.0.2\n").dns,
    ).toEqual({
      address: "fd00::10",
      upstreams: ["10.0.0.2"],
    });
  });

  test("no readable resolv.conf, or only a loopback stub in it: no upstream (outside names are refused)", () => {
    expect(dnsFlags([], null).dns?.upstreams).toEqual([]);
    expect(dnsFlags([], "nameserver 127.0.0.53\n").dns?.upstreams).toEqual([]);
  });

  test("given upstreams replace the node's (resolv.conf is not read), with ports, without repeats", () => {
    const out = dnsFlags([
      "--cluster-domain",
      "k8s.example",
      "--dns-address",
      "FD00:10:254::10",
      "--dns-upstream",
      "198.51.100.53",
      "--dns-upstream",
      "[2001:db8::53]:5353",
      "--dns-upstream",
      "198.51.100.53:53",
    ]);
    expect(out).toEqual({
      clusterDomain: "k8s.example",
      dns: { address: "fd00:10:254::10", upstreams: ["198.51.100.53:53", "[2001:db8::53]:5353"] },
      read: 0,
    });
    expect(dnsFlags(["--dns-upstream", "none"]).dns).toEqual({ address: "169.254.20.10", upstreams: [] });
  });

  test("--dns-address none runs the agent without DNS", () => {
    expect(dnsFlags(["--dns-address", "none"])).toEqual({
      clusterDomain: "cluster.local",
      dns: undefined,
      read: 0,
    });
  });

  test("bad values are usage errors naming the flag and the reason", () => {
    expect(usageError(["--cluster-domain", "Cluster.Local"])).toContain(
      '--cluster-domain "Cluster.Local" is not a DNS name',
    );
    expect(usageError(["--cluster-domain", "cluster.local."])).toContain("--cluster-domain");
    expect(usageError(["--dns-address", "localhost"])).toBe(
      '--dns-address: Invalid DNS address "localhost": not an IP address',
    );
    expect(usageError(["--dns-address", "127.0.0.1"])).toContain("loopback");
    expect(usageError(["--dns-upstream", "10.0.0.2:99999"])).toContain(
      '--dns-upstream: Invalid DNS upstream "10.0.0.2:99999"',
    );
    expect(usageError(["--dns-upstream", "169.254.20.10"])).toContain("a forwarding loop");
    expect(usageError(["--dns-upstream", "none", "--dns-upstream", "10.0.0.2"])).toContain(
      "cannot be given with",
    );
    expect(usageError(["--dns-address", "none", "--dns-upstream", "10.0.0.2"])).toContain(
      "--dns-address is none",
    );
    expect(usageError(["--dns-address", "169.254.20.10", "--dns-address", "169.254.20.11"])).toContain(
      "given more than once",
    );
  });

  test("a node-local DNS address inside a cluster or service CIDR is refused, naming both", () => {
    // The IPv6 default fd00::10 lies in a user's fd00::/48.
    expect(usageError(["--cluster-cidr", "fd00::/48"])).toBe(
      "The default node-local DNS address fd00::10 lies in cluster CIDR fd00::/48: IPAM could give it to a pod " +
        "while every node holds it for DNS; pass --dns-address with an address outside the cluster and " +
        "service CIDRs (or none to run without DNS)",
    );
    expect(usageError(["--cluster-cidr", "10.244.0.0/16", "--dns-address", "10.244.3.10"])).toBe(
      "--dns-address 10.244.3.10 lies in cluster CIDR 10.244.0.0/16: IPAM could give it to a pod while every " +
        "node holds it for DNS; pass another (or none)",
    );
    expect(
      usageError([
        "--cluster-cidr",
        "fd00:10:244::/56",
        "--service-cidr",
        "fd00::/108",
        "--dns-address",
        "FD00::10",
      ]),
    ).toStartWith("--dns-address fd00::10 lies in service CIDR fd00::/108: IPAM could give it to a Service");
    // Without --service-cidr the agent proposes 10.96.0.0/12, as buildClusterConfig does.
    expect(usageError(["--cluster-cidr", "10.244.0.0/16", "--dns-address", "10.96.0.10"])).toContain(
      "lies in service CIDR 10.96.0.0/12",
    );
  });

  test("a node-local DNS address outside every range passes, and a range that is no CIDR is left to the plan", () => {
    expect(
      dnsFlags(["--cluster-cidr", "fd00:10:244::/56", "--service-cidr", "fd00:10:96::/112"]).dns?.address,
    ).toBe("fd00::10");
    expect(dnsFlags(["--cluster-cidr", "fd00::/48", "--dns-address", "fd01::10"]).dns?.address).toBe(
      "fd01::10",
    );
    expect(dnsFlags(["--cluster-cidr", "not-a-cidr"]).dns?.address).toBe("169.254.20.10");
  });
});
