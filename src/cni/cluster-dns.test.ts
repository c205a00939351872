import { describe, expect, test } from "bun:test";
import { cniFailure } from "../../test/support/cni-fixtures.ts";
import {
  type ClusterDnsConfig,
  clusterDnsBlock,
  clusterDomainProblem,
  parseClusterDns,
} from "./cluster-dns.ts";
import { ErrorCode } from "./errors.ts";
import type { ShapeContext } from "./shape.ts";

const CTX: ShapeContext = { where: "podnet conflist options", code: ErrorCode.InvalidNetworkConfig };

describe("cluster DNS of the conflist", () => {
  test("the block: the nameservers, the cluster search path without a namespace, ndots:5", () => {
    const c = parseClusterDns(
      { nameservers: ["FD00:10:254:0::10", "169.254.20.10"], domain: "cluster.local" },
      CTX,
    );
    expect(c).toEqual({ nameservers: ["fd00:10:254::10", "169.254.20.10"], domain: "cluster.local" });
    expect(clusterDnsBlock(c)).toEqual({
      nameservers: ["fd00:10:254::10", "169.254.20.10"],
      search: ["svc.cluster.local", "cluster.local"],
      options: ["ndots:5"],
    });
  });

  test("refuses a bad domain or nameserver with code 7, naming it", () => {
    const cases: [ClusterDnsConfig, string][] = [
      [
        { nameservers: ["169.254.20.10"], domain: "Cluster.Local" },
        'cluster domain "Cluster.Local" is not a DNS name',
      ],
      [{ nameservers: ["169.254.20.10"], domain: "cluster.local." }, "is not a DNS name"],
      [{ nameservers: ["169.254.20.10"], domain: "" }, "cluster domain must not be empty"],
      [
        { nameservers: ["dns.local"], domain: "cluster.local" },
        'nameserver "dns.local" is not an IP address',
      ],
      [{ nameservers: [], domain: "cluster.local" }, "needs a nameserver"],
      [{ nameservers: ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"], domain: "c.l" }, "at most 3"],
    ];
    for (const [config, reason] of cases) {
      const e = cniFailure(() => parseClusterDns(config, CTX));
      expect(e.code).toBe(7);
      expect(e.message).toStartWith("Invalid podnet conflist options: ");
      expect(e.message).toContain(reason);
    }
  });

  test("clusterDomainProblem: DNS labels, 253 characters, no numeric last label", () => {
    for (const ok of ["cluster.local", "k8s", "a-b.c0.example", `${"a".repeat(63)}.local`])
      expect(clusterDomainProblem(ok)).toBeUndefined();
    expect(clusterDomainProblem("-a.local")).toContain("is not a DNS name");
    expect(clusterDomainProblem("a..local")).toContain("is not a DNS name");
    expect(clusterDomainProblem(`${"a".repeat(64)}.local`)).toContain("is not a DNS name");
    expect(clusterDomainProblem(Array(64).fill("abc").join("."))).toContain("longer than 253");
    expect(clusterDomainProblem("10.96.0.10")).toContain("ends in a label of digits");
  });
});
