import { describe, expect, test } from "bun:test";
import { ClusterFileError } from "../lab/cluster-file.ts";
import { parseArgs, UsageError } from "./args.ts";
import { labUpOptions } from "./lab-up-command.ts";

const LAYOUT = `
segments: [{ name: rack1, cidr: 192.0.2.0/25 }, { name: rack2, cidr: 198.51.100.0/24 }]
nodes: [{ name: a1, segment: rack1 }, { name: b1, segment: rack2 }]
`;

/** labUpOptions over `argv`, with `-f lab.yaml` reading `file`. */
function optionsOf(argv: string[], file = LAYOUT) {
  const read = (path: string) => {
    if (path !== "lab.yaml") throw new Error(`unexpected read of ${path}`);
    return file;
  };
  return labUpOptions(parseArgs(argv), read);
}

describe("labUpOptions: -f with --ip-family", () => {
  test("a file without ranges takes the flag's families and the lab's default ranges", () => {
    const o = optionsOf(["--file", "lab.yaml", "--ip-family", "dual"]);
    expect(o.ipFamily).toBe("dual");
    expect(o.topology?.nodes.map((n) => n.addresses)).toEqual([
      ["192.0.2.11/25", "2001:db8:1::11/64"],
      ["198.51.100.11/24", "2001:db8:2::11/64"],
    ]);
    // lab-node.ts then passes LAB_CLUSTER_CIDRS / LAB_SERVICE_CIDRS of the families.
    expect(o.clusterCidrs).toBeUndefined();
    expect(o.serviceCidrs).toBeUndefined();
    expect(optionsOf(["--file", "lab.yaml", "--ip-family", "ipv6"]).topology?.nodes[0]?.addresses).toEqual([
      "2001:db8:1::11/64",
    ]);
  });

  test("the flag overrides the file's ipFamily", () => {
    const o = optionsOf(["--file", "lab.yaml", "--ip-family", "ipv4"], `ipFamily: dual\n${LAYOUT}`);
    expect(o.ipFamily).toBe("ipv4");
    expect(o.topology?.nodes[0]?.addresses).toEqual(["192.0.2.11/25"]);
  });

  test("a file whose ranges do not cover the flag's families is refused, saying to list one per family", () => {
    const run = () =>
      optionsOf(["--file", "lab.yaml", "--ip-family", "dual"], `clusterCidr: 10.244.0.0/16\n${LAYOUT}`);
    expect(run).toThrow(ClusterFileError);
    expect(run).toThrow(
      "clusterCidr must give one range per family of the lab (dual, from --ip-family), in its order (IPv4, IPv6), not IPv4: list one per family in the file",
    );
  });

  test("a file whose ranges cover the flag's families keeps them", () => {
    const o = optionsOf(
      ["--file", "lab.yaml", "--ip-family", "dual"],
      `clusterCidr: [10.250.0.0/16, fd00:10:250::/56]\nserviceCidrs: [10.97.0.0/16, fd00:10:97::/112]\n${LAYOUT}`,
    );
    expect(o.clusterCidrs).toEqual(["10.250.0.0/16", "fd00:10:250::/56"]);
    expect(o.serviceCidrs).toEqual(["10.97.0.0/16", "fd00:10:97::/112"]);
  });

  test("flags over the file's settings; --nodes cannot be combined with it", () => {
    const o = optionsOf(
      ["--file", "lab.yaml", "--mode", "ptp", "--pods", "4"],
      `mode: bridge\npodsPerNode: 3\n${LAYOUT}`,
    );
    expect(o).toMatchObject({
      mode: "ptp",
      podsPerNode: 4,
      backend: "auto",
      datastore: "sqlite",
      ipFamily: "ipv4",
    });
    expect(() => optionsOf(["--file", "lab.yaml", "--nodes", "2"])).toThrow(UsageError);
  });

  test("without a file: the default topology is left to labUp", () => {
    const o = optionsOf(["--nodes", "2", "--ip-family", "ipv6"]);
    expect(o).toMatchObject({ nodes: 2, ipFamily: "ipv6" });
    expect(o.topology).toBeUndefined();
  });
});
