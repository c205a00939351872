/** AgentBgp with a SQLite datastore and a fake BIRD: config watch, speaker, status record, VPC. */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import type { BgpConfig } from "../cluster/bgp-config.ts";
import { deleteBgpConfig, writeBgpConfig } from "../cluster/bgp-config-store.ts";
import { listBgpStatusRecords } from "../cluster/bgp-status-records.ts";
import { BGP_KEY } from "../cluster/keys.ts";
import type { Backend } from "../cluster/node-record.ts";
import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import type { BirdExit, BirdHandle, BirdReloadResult, StartBirdOptions } from "../linux/bird-process.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { AgentBgp } from "./agent-bgp.ts";
import { agentMetrics } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import type { BirdRunner } from "./bgp-speaker.ts";

const ESTABLISHED = `Name       Proto      Table      State  Since         Info
peer_router_lan1 BGP        ---        up     2026-12-06 16:47:29  Established
  BGP state:          Established
    Neighbor address: 192.0.2.1
    Neighbor AS:      64512
    Local AS:         64512
  Channel ipv4
    State:          UP
    Routes:         1 imported, 1 exported, 1 preferred
`;

class FakeBird implements BirdHandle {
  running = true;
  readonly configs: string[] = [];
  readonly exited: Promise<BirdExit>;
  private done!: (e: BirdExit) => void;
  constructor(
    readonly options: StartBirdOptions,
    readonly pid: number,
  ) {
    this.exited = new Promise((r) => {
      this.done = r;
    });
    this.configs.push(readFileSync(options.configPath, "utf8"));
  }
  get ctlPath() {
    return this.options.ctlPath;
  }
  get configPath() {
    return this.options.configPath;
  }
  async reload(): Promise<BirdReloadResult> {
    this.configs.push(readFileSync(this.options.configPath, "utf8"));
    return "reconfigured";
  }
  async command(cmd: string): Promise<string> {
    if (cmd === "show protocols all") return ESTABLISHED;
    return "Daemon is up and running";
  }
  async gracefulRestart(): Promise<BirdExit> {
    return this.stop();
  }
  async stop(): Promise<BirdExit> {
    const e: BirdExit = { code: 0, signal: null, expected: true };
    this.running = false;
    this.options.onExit?.(e);
    this.done(e);
    return e;
  }
}

class FakeRunner implements BirdRunner {
  readonly birds: FakeBird[] = [];
  async start(options: StartBirdOptions): Promise<BirdHandle> {
    const bird = new FakeBird(options, 2000 + this.birds.length);
    this.birds.push(bird);
    return bird;
  }
  check(): void {}
  async retireStale(): Promise<boolean> {
    return false;
  }
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const PEERING: BgpConfig = {
  asNumber: 64512,
  peers: [{ name: "router-lan1", address: "192.0.2.1", asNumber: 64512 }],
  holdTimeSeconds: 9,
  keepaliveSeconds: 3,
  gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
  vpcCidrs: [],
};
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
  const runner = new FakeRunner();
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
      sessions: [{ peer: "router-lan1", neighbor: "192.0.2.1", received: 1, advertised: 1 }],
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
