import { describe, expect, test } from "bun:test";
import { anchorSteps, explainArgv, probeArgv, traceArgv } from "./diagnosis-commands.ts";
import { labFixture } from "./lab-fixture.ts";
import { diagnosisSubjects } from "./subjects.ts";

const lab = diagnosisSubjects(labFixture(), "10.96.0.10");
const DS = "sqlite:/tmp/lab/abc123/cluster.db";
const subject = <T extends { key: string }>(list: readonly T[], key: string): T => {
  const s = list.find((x) => x.key === key);
  if (!s) throw new Error(`no subject ${key}`);
  return s;
};

describe("podnet's commands", () => {
  test("explain runs in node1's namespace with only the datastore, as an operator runs it", () => {
    expect(explainArgv("/x/podnet", lab, subject(lab.explain, "pod"))).toEqual([
      "ip",
      "netns",
      "exec",
      "pnlab-abc123-node1",
      "/x/podnet",
      "explain",
      "10.244.10.2",
      "--datastore",
      DS,
      "--json",
    ]);
  });

  test("trace from the source pod by name; --no-probe only for the unverified variant", () => {
    const vxlan = subject(lab.trace, "vxlan");
    expect(traceArgv("/x/podnet", lab, vxlan, true).slice(4)).toEqual([
      "/x/podnet",
      "trace",
      "default/node1-a",
      "10.244.4.2:8080",
      "--datastore",
      DS,
      "--json",
    ]);
    expect(traceArgv("/x/podnet", lab, vxlan, false).at(-1)).toBe("--no-probe");
  });

  test("the bare probe runs inside the source pod's namespace", () => {
    expect(probeArgv("/x/podnet", lab, subject(lab.trace, "cluster-ip"))).toEqual([
      "ip",
      "netns",
      "exec",
      "pnlab-abc123-node1-a",
      "/x/podnet",
      "probe",
      "--to",
      "10.96.0.10",
      "--port",
      "80",
      "--proto",
      "tcp",
    ]);
  });
});

describe("the anchor", () => {
  const steps = anchorSteps("/x/podnet", lab);

  test("six kernel reads in every node's namespace, then the datastore twice from node1", () => {
    expect(steps).toHaveLength(6 * 3 + 2);
    expect(steps.filter((s) => s.node === "node3").map((s) => s.argv.slice(4).join(" "))).toEqual([
      "ip -j -d addr show",
      "ip -j route show",
      "ip -j neigh show",
      "bridge -j fdb show dev podnet-vx",
      "nft -j list ruleset ip",
      "conntrack -L",
    ]);
    expect(steps.filter((s) => s.node === "node3").every((s) => s.argv[3] === "pnlab-abc123-node3")).toBe(
      true,
    );
    expect(steps.slice(-2).map((s) => s.argv.slice(3))).toEqual([
      ["pnlab-abc123-node1", "/x/podnet", "ipam", "show", "--datastore", DS, "--json"],
      ["pnlab-abc123-node1", "/x/podnet", "service", "list", "--datastore", DS, "--json"],
    ]);
  });
});
