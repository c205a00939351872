import { describe, expect, test } from "bun:test";
import { DEFAULT_DNS_ADDRESS6, defaultDnsAddress } from "../agent/cluster-dns-options.ts";
import { labAgentCommandLine } from "./lab-node.ts";
import { defaultTopology, type HostSpec } from "./topology.ts";

const DIRS = { confDir: "/run/lab/node1/net.d", stateDir: "/run/lab/node1/state" };

function argvOf(families: readonly (4 | 6)[], extra: { clusterCidrs?: string[] } = {}): string[] {
  const t = defaultTopology(1, families);
  return labAgentCommandLine({ datastore: "sqlite:/x.db" }, t.nodes[0] as HostSpec, t, "/lab/podnet", DIRS, {
    backend: "auto",
    mode: "bridge",
    families,
    ...extra,
  });
}

const values = (argv: readonly string[], flag: string) =>
  argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));

describe("labAgentCommandLine", () => {
  test("ipv4: the lab's IPv4 ranges, the agent's default DNS address, the external host's IPv4 as upstream", () => {
    const argv = argvOf([4]);
    expect(values(argv, "--cluster-cidr")).toEqual(["10.244.0.0/16"]);
    expect(values(argv, "--service-cidr")).toEqual(["10.96.0.0/12"]);
    expect(argv).not.toContain("--dns-address");
    expect(values(argv, "--dns-upstream")).toEqual(["203.0.113.100"]);
  });

  test("dual: both ranges, IPv4 first; both upstream addresses", () => {
    const argv = argvOf([4, 6]);
    expect(values(argv, "--cluster-cidr")).toEqual(["10.244.0.0/16", "fd00:10:244::/56"]);
    expect(values(argv, "--service-cidr")).toEqual(["10.96.0.0/12", "fd00:10:96::/112"]);
    expect(argv).not.toContain("--dns-address");
    expect(values(argv, "--dns-upstream")).toEqual(["203.0.113.100", "2001:db8:3::100"]);
  });

  test("ipv6: IPv6 ranges only, so the agent defaults to the IPv6 node-local DNS address", () => {
    const argv = argvOf([6]);
    expect(values(argv, "--cluster-cidr")).toEqual(["fd00:10:244::/56"]);
    expect(values(argv, "--service-cidr")).toEqual(["fd00:10:96::/112"]);
    expect(argv).not.toContain("--dns-address");
    expect(defaultDnsAddress(values(argv, "--cluster-cidr") as string[])).toBe(DEFAULT_DNS_ADDRESS6);
    expect(values(argv, "--dns-upstream")).toEqual(["2001:db8:3::100"]);
  });

  test("a cluster file's ranges replace the defaults", () => {
    expect(values(argvOf([4], { clusterCidrs: ["10.250.0.0/16"] }), "--cluster-cidr")).toEqual([
      "10.250.0.0/16",
    ]);
  });
});
