/** BgpSpeaker against a fake BIRD: what it writes, when it reloads or restarts, how it stops. */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeBirdRunner } from "../../test/support/fake-bird.ts";
import { pollUntil } from "../base/poll-until.ts";
import type { BgpConfig } from "../cluster/bgp-config.ts";
import type { Logger } from "../daemon/log.ts";
import { parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { BgpSpeaker, type BgpSpeakerInputs } from "./bgp-speaker.ts";
import { LAB_PEERING } from "./bird-config-cases.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const config = (more: Partial<BgpConfig> = {}): BgpConfig => ({ ...LAB_PEERING, ...more });
const inputs = (blocks: string[], ip = "192.0.2.11", c = config()): BgpSpeakerInputs => ({
  config: c,
  blocks: blocks.map((b) => parsePrefix(b)),
  uplink: { name: "eth0", addresses: [parseIP(ip)], connected: [parsePrefix(`${ip}/24`, { strict: false })] },
});

const dirs: string[] = [];
const speakers: BgpSpeaker[] = [];
function setUp(reuse?: string, clusterCidrs = ["10.244.0.0/16"], onIdle?: () => Promise<void>) {
  const dir = reuse ?? mkdtempSync(join(tmpdir(), "podnet-bgp-speaker-"));
  if (reuse === undefined) dirs.push(dir);
  const runner = new FakeBirdRunner();
  const speaker = new BgpSpeaker({
    nodeName: "node1",
    stateDir: join(dir, "bgp"),
    netns: "pntest-unused",
    clusterCidrs: clusterCidrs.map((c) => parsePrefix(c)),
    nodeBlockLength: { ipv4: 24, ipv6: 64 },
    log: quiet,
    runner,
    statusIntervalMs: 3_600_000,
    ...(onIdle ? { onIdle } : {}),
  });
  speakers.push(speaker);
  return { dir: join(dir, "bgp"), runner, speaker };
}

afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop("withdraw");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("BgpSpeaker", () => {
  test("starts BIRD with the node's block in a 0600 config", async () => {
    const { dir, runner, speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    expect(runner.birds.length).toBe(1);
    expect(runner.last.options).toMatchObject({
      netns: "pntest-unused",
      configPath: join(dir, "bird.conf"),
      recover: false,
    });
    expect(runner.last.configs[0]).toContain("route 10.244.1.0/24 blackhole;");
    expect(statSync(join(dir, "bird.conf")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, "bird.conf.tmp"))).toBe(false);
    expect(speaker.status).toMatchObject({
      enabled: true,
      running: true,
      announced: ["10.244.1.0/24"],
      routerId: "192.0.2.11",
    });
  });

  test("a block change reloads the running BIRD; the same inputs do not", async () => {
    const { runner, speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    speaker.update(inputs(["10.244.1.0/24", "10.244.7.0/24"]));
    await speaker.flush();
    speaker.update(inputs(["10.244.1.0/24", "10.244.7.0/24"]));
    await speaker.flush();
    expect(runner.birds.length).toBe(1);
    expect(runner.last.configs.length).toBe(2);
    expect(runner.last.configs[1]).toContain("route 10.244.7.0/24 blackhole;");
    expect(speaker.status.reloads).toEqual({ ok: 2, failed: 0 });
  });

  test("a config BIRD refuses is not installed and the old one keeps running", async () => {
    const { dir, runner, speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    runner.refuse = "10.244.9.0/24";
    speaker.update(inputs(["10.244.9.0/24"]));
    await speaker.flush();
    expect(readFileSync(join(dir, "bird.conf"), "utf8")).toContain("route 10.244.1.0/24 blackhole;");
    expect(existsSync(join(dir, "bird.conf.tmp"))).toBe(false);
    expect(runner.last.configs.length).toBe(1);
    expect(speaker.status.reloads).toEqual({ ok: 1, failed: 1 });
    expect(speaker.status.lastError).toContain("refused");
    expect(speaker.status.announced).toEqual(["10.244.1.0/24"]);
  });

  test("the router id stays when the node IP changes; the session follows the new address", async () => {
    const { runner, speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    speaker.update(inputs(["10.244.1.0/24"], "192.0.2.51"));
    await speaker.flush();
    const text = runner.last.configs.at(-1) ?? "";
    expect(text).toContain("router id 192.0.2.11;");
    expect(text).toContain("local 192.0.2.51 as 64512;");
  });

  test("a changed IPv6 node IP restarts the session (a reload keeps announcing the old next hop)", async () => {
    const { runner, speaker } = setUp(undefined, ["10.244.0.0/16", "fd00:10:244::/56"]);
    const dual = (ip6: string): BgpSpeakerInputs => {
      const v4 = inputs(["10.244.1.0/24", "fd00:10:244:1::/64"]);
      return {
        ...v4,
        uplink: {
          ...v4.uplink,
          addresses: [...v4.uplink.addresses, parseIP(ip6)],
          connected: [...v4.uplink.connected, parsePrefix("2001:db8:1::/64")],
        },
      };
    };
    speaker.update(dual("2001:db8:1::11"));
    await speaker.flush();
    speaker.update(dual("2001:db8:1::11"), "same again");
    await speaker.flush();
    expect(runner.last.commands.filter((c) => c.startsWith("restart"))).toEqual([]);
    speaker.update(dual("2001:db8:1::51"));
    await speaker.flush();
    expect(runner.last.configs.at(-1)).toContain("next hop address 2001:db8:1::51;");
    expect(runner.last.commands.filter((c) => c.startsWith("restart"))).toEqual(["restart peer_router_lan1"]);
    expect(runner.birds.length).toBe(1);
  });

  test("polls the session state into the status", async () => {
    const { speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    expect(speaker.status.sessions[0]?.state).toBe("unknown");
    await speaker.poll();
    expect(speaker.status.sessions[0]).toMatchObject({
      peer: "router-lan1",
      neighbor: "192.0.2.1",
      established: true,
      routes: [{ family: "ipv4", imported: 2, exported: 1 }],
    });
    expect(speaker.status.polledAt).toBeDefined();
  });

  test("no peer for this node: BIRD is stopped", async () => {
    const { runner, speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    speaker.update(inputs(["10.244.1.0/24"], "192.0.2.11", config({ peers: [] })));
    await speaker.flush();
    expect(runner.last.running).toBe(false);
    expect(runner.last.graceful).toBe(false);
    expect(speaker.status).toMatchObject({ enabled: false, running: false });
  });

  test("no peer from the start: the idle hook (leftovers of an earlier BIRD) runs once, and not after BIRD ran", async () => {
    let idle = 0;
    const { runner, speaker } = setUp(undefined, undefined, async () => {
      idle++;
    });
    const none = config({ peers: [] });
    speaker.update(inputs(["10.244.1.0/24"], "192.0.2.11", none));
    await speaker.flush();
    speaker.update(inputs(["10.244.2.0/24"], "192.0.2.11", none));
    await speaker.flush();
    expect(idle).toBe(1);
    expect(runner.birds.length).toBe(0);
    const other = setUp(undefined, undefined, async () => {
      idle++;
    });
    other.speaker.update(inputs(["10.244.1.0/24"]));
    await other.speaker.flush();
    other.speaker.update(inputs(["10.244.1.0/24"], "192.0.2.11", none));
    await other.speaker.flush();
    expect(idle).toBe(1);
    expect(other.runner.last.running).toBe(false);
  });

  test("stop withdraws without graceful restart", async () => {
    const { runner, speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    await speaker.stop();
    expect([runner.last.running, runner.last.graceful]).toEqual([false, false]);
  });

  test("with graceful restart, stop leaves the routes and the next BIRD recovers (-R)", async () => {
    const gr = config({ gracefulRestart: { enabled: true, restartTimeSeconds: 120 } });
    const first = setUp();
    first.speaker.update(inputs(["10.244.1.0/24"], "192.0.2.11", gr));
    await first.speaker.flush();
    first.runner.last.recoveryPolls = 2;
    await first.speaker.stop();
    expect([first.runner.last.running, first.runner.last.graceful]).toEqual([false, true]);
    // It waited for the end of recovery: stopped during it, BIRD loses its routes at the peers.
    expect(first.runner.last.commands.filter((c) => c === "show status").length).toBe(3);
    expect(first.runner.last.options.recover).toBe(true);
  });

  test("an unexpected exit is counted and BIRD is started again", async () => {
    const { runner, speaker } = setUp();
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    runner.last.exit(false);
    expect(speaker.status).toMatchObject({ running: false, restarts: 1 });
    await pollUntil("BIRD restarted", () => runner.birds.length === 2 && speaker.status.running, 5000);
    expect(runner.last.configs[0]).toContain("route 10.244.1.0/24 blackhole;");
  });

  test("the router id chosen at the first start survives an agent restart on a new node IP", async () => {
    const first = setUp();
    first.speaker.update(inputs(["10.244.1.0/24"]));
    await first.speaker.flush();
    await first.speaker.stop();
    const second = setUp(join(first.dir, ".."));
    second.speaker.update(inputs(["10.244.1.0/24"], "192.0.2.51"));
    await second.speaker.flush();
    expect(second.runner.last.configs[0]).toContain("router id 192.0.2.11;");
  });

  test("a BIRD a previous agent left running is retired before the new one starts", async () => {
    const { runner, speaker } = setUp();
    runner.stale = true;
    speaker.update(inputs(["10.244.1.0/24"]));
    await speaker.flush();
    expect(runner.retired).toEqual([{ graceful: false }]);
    expect(speaker.status.running).toBe(true);
  });
});
