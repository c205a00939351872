import { describe, expect, test } from "bun:test";
import { agentCommandLine } from "./agent-command-line.ts";

const BASE = {
  exe: "/opt/podnet",
  nodeName: "node1",
  datastore: "sqlite:/run/lab/cluster.db",
  backend: "vxlan",
  uplink: "eth0",
  clusterCidrs: ["10.244.0.0/16"],
  cniConfDir: "/run/lab/node1/net.d",
  network: "podnet-lab",
  stateDir: "/run/lab/node1/state",
} as const;

describe("agentCommandLine", () => {
  test("passes every given setting as its agent flag", () => {
    expect(
      agentCommandLine({
        ...BASE,
        cniMode: "ptp",
        leaseTtlSeconds: 15,
        blockGraceSeconds: 60,
        resyncSeconds: 5,
        metricsAddr: "127.0.0.1:9464",
        extraArgs: ["--avoid", "10.244.128.0/17"],
      }),
    ).toEqual([
      "/opt/podnet",
      "agent",
      "--node-name",
      "node1",
      "--datastore",
      "sqlite:/run/lab/cluster.db",
      "--backend",
      "vxlan",
      "--uplink",
      "eth0",
      "--cluster-cidr",
      "10.244.0.0/16",
      "--cni-conf-dir",
      "/run/lab/node1/net.d",
      "--cni-mode",
      "ptp",
      "--network",
      "podnet-lab",
      "--state-dir",
      "/run/lab/node1/state",
      "--lease-ttl",
      "15",
      "--block-grace",
      "60",
      "--resync",
      "5",
      "--metrics-addr",
      "127.0.0.1:9464",
      "--avoid",
      "10.244.128.0/17",
    ]);
  });

  test("leaves out what is not given, so the agent's defaults apply", () => {
    const argv = agentCommandLine(BASE);
    for (const flag of ["--cni-mode", "--lease-ttl", "--block-grace", "--resync", "--metrics-addr"])
      expect(argv).not.toContain(flag);
    expect(argv.slice(0, 2)).toEqual(["/opt/podnet", "agent"]);
  });

  test("one --cluster-cidr and --service-cidr per family, primary first", () => {
    const argv = agentCommandLine({
      ...BASE,
      clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
      serviceCidrs: ["10.96.0.0/12", "fd00:10:96::/112"],
      dnsAddress: "fd00::10",
    });
    const pairs = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
    expect(pairs("--cluster-cidr")).toEqual(["10.244.0.0/16", "fd00:10:244::/56"]);
    expect(pairs("--service-cidr")).toEqual(["10.96.0.0/12", "fd00:10:96::/112"]);
    expect(pairs("--dns-address")).toEqual(["fd00::10"]);
    expect(agentCommandLine(BASE)).not.toContain("--service-cidr");
  });
});
