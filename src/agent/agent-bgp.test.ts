/** AgentBgp with a SQLite datastore and a fake BIRD: config watch, speaker, status record, VPC. */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeBirdRunner } from "../../test/support/fake-bird.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import { deleteBgpConfig, writeBgpConfig } from "../cluster/bgp-config-store.ts";
import { listBgpStatusRecords } from "../cluster/bgp-status-records.ts";
import { BGP_KEY } from "../cluster/keys.ts";
import type { Backend } from "../cluster/node-record.ts";
import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { AgentBgp } from "./agent-bgp.ts";
import { agentMetrics } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import { LAB_PEERING } from "./bird-config-cases.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const PEERING = LAB_PEERING;
const UPLINK = {
  name: "eth0",
  mtu: 1500,
  addresses: [parseIP("192.0.2.11")],
  connected: [parsePrefix("192.0.2.0/24")],
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(backend: Backend) {
  const dir = mkdtempSync(join(tmpdir(), "podnet-agent-bgp-"));
  const store: Store = await openStore(`sqlite:${dir}/cluster.db`);
  const metrics = new Metrics({ processMetrics: false });
  const runner = new FakeBirdRunner(2000);
  const changes: string[] = [];
  const lease = await store.grantLease(60);
  const bgp = new AgentBgp(
    store,
    { nodeName: "node1", backend, bgpStateDir: join(dir, "bgp") } as AgentOptions,
    buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"] }),
    {
      blocks: () => [parsePrefix("10.244.1.0/24")],
      uplink: () => UPLINK,
      leaseId: () => lease.id,
      routingChanged: (reason) => changes.push(reason),
    },
    quiet,
    agentMetrics(metrics),
    { runner, statusIntervalMs: 50 },
  );
  cleanups.push(async () => {
    await bgp.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, metrics, runner, changes, bgp };
}

const records = async (store: Store) => (await listBgpStatusRecords(store)).records;

describe("AgentBgp", () => {
  test("without a BgpConfig no BIRD runs; one written later starts it, and the VPC and routes follow", async () => {
    const { store, runner, changes, bgp } = await setUp("bgp");
    await bgp.start();
    expect(runner.birds).toEqual([]);
    expect(bgp.peering).toBe(false);
    expect(bgp.vpcCidrs()).toEqual([]);

    await writeBgpConfig(store, PEERING);
    await pollUntil("BIRD started for the new config", () => runner.birds.length === 1, 5000);
    expect(runner.birds[0]?.configs[0]).toContain("route 10.244.1.0/24 blackhole;");
    await pollUntil("the node peering", () => bgp.peering, 5000);
    // No vpcCidrs in the config: the node's own network is the VPC.
    expect(bgp.vpcCidrs()).toEqual(["192.0.2.0/24"]);
    expect(bgp.backupRoutes).toBe(false);
    expect(changes).toContain("BGP config changed");
    expect(changes).toContain("BGP sessions configured");

    await pollUntil(
      "the node's status record with its Established session",
      async () => (await records(store)).some((r) => r.sessions[0]?.state === "Established"),
      5000,
    );
    const [record] = await records(store);
    expect(record).toMatchObject({
      node: "node1",
      running: true,
      announced: ["10.244.1.0/24"],
      sessions: [{ peer: "router-lan1", neighbor: "192.0.2.1", received: 2, advertised: 1 }],
    });
  });

  test("auto with sessions keeps podnet's routes as a backup; a deleted config stops BIRD", async () => {
    const { store, runner, changes, bgp } = await setUp("auto");
    await writeBgpConfig(store, { ...PEERING, vpcCidrs: ["192.0.2.0/24", "198.51.100.0/24"] });
    await bgp.start();
    // Configured before start() returns: the first route sync already uses the backup metric.
    expect(runner.birds.length).toBe(1);
    expect(bgp.backupRoutes).toBe(true);
    expect(bgp.vpcCidrs()).toEqual(["192.0.2.0/24", "198.51.100.0/24"]);

    await deleteBgpConfig(store);
    await pollUntil("BIRD stopped", () => runner.birds[0]?.running === false, 5000);
    expect(bgp.backupRoutes).toBe(false);
    expect(bgp.vpcCidrs()).toEqual([]);
    expect(changes).toContain("no BGP sessions");
  });

  test("a deleted config, or one whose peers no longer select the node, deletes its status record", async () => {
    const { store, runner, bgp } = await setUp("bgp");
    const established = async () =>
      (await records(store)).some((r) => r.sessions[0]?.state === "Established");
    await writeBgpConfig(store, PEERING);
    await bgp.start();
    await pollUntil("the node's Established session in its record", established, 5000);

    await deleteBgpConfig(store);
    await pollUntil("BIRD stopped", () => runner.birds[0]?.running === false, 5000);
    await pollUntil(
      "the node's status record deleted",
      async () => (await records(store)).length === 0,
      5000,
    );

    await writeBgpConfig(store, PEERING);
    await pollUntil("the record back with the session", established, 5000);
    // A peer on another segment only: no peer selects node1 any more.
    await writeBgpConfig(store, {
      ...PEERING,
      peers: [{ name: "router-lan2", address: "198.51.100.1", asNumber: 64512 }],
    });
    await pollUntil(
      "the node's status record deleted",
      async () => (await records(store)).length === 0,
      5000,
    );
    expect(bgp.peering).toBe(false);
  });

  test("an invalid record is counted and the last good config kept", async () => {
    const { store, metrics, runner, bgp } = await setUp("bgp");
    await writeBgpConfig(store, PEERING);
    await bgp.start();
    await store.put(BGP_KEY, JSON.stringify({ asNumber: -1 }));
    await pollUntil(
      "the invalid record counted",
      async () => metricValue(await metrics.render(), 'podnet_agent_errors_total{kind="bgp"}') === 1,
      5000,
    );
    expect(runner.birds.length).toBe(1);
    expect(runner.birds[0]?.running).toBe(true);
    expect(bgp.peering).toBe(true);
  });

  test("a clean stop stops BIRD and deletes the status record", async () => {
    const { store, runner, bgp } = await setUp("bgp");
    await writeBgpConfig(store, PEERING);
    await bgp.start();
    await pollUntil("the status record", async () => (await records(store)).length === 1, 5000);
    await bgp.stop();
    expect(runner.birds[0]?.running).toBe(false);
    expect(await records(store)).toEqual([]);
  });

  test("host-gw and vxlan nodes run no BIRD whatever the config says", async () => {
    for (const backend of ["host-gw", "vxlan"] as const) {
      const { store, runner, bgp } = await setUp(backend);
      await writeBgpConfig(store, PEERING);
      await bgp.start();
      expect(bgp.speaks).toBe(false);
      expect(runner.birds).toEqual([]);
      expect(bgp.vpcCidrs()).toEqual([]);
    }
  });
});
