/**
 * linux/bird-process.ts with real BIRDs (Debian's bird2): two namespaces of our own
 * (`pntest-<id>-bgpa`, `-bgpb`, a TestRun's) joined by a veth on 192.0.2.0/24, one BIRD in each,
 * iBGP between them, each announcing a static blackhole block. Checked: the session comes up and
 * the peer's kernel installs the block (proto bird); a reload that adds a block keeps the session
 * (its "since" does not move); a bad config is refused by file:line while the old one keeps
 * running; SIGTERM withdraws the blocks from the peer's kernel; `graceful restart` keeps them (stale)
 * until a `-R` start takes over; a hung BIRD is SIGKILLed after stop()'s timeout; an unasked death
 * reaches onExit; and no BIRD ever runs in the root namespace — startBird refuses it, and none of
 * ours is left anywhere after the run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import { BirdReplyError } from "../../src/linux/bird-control.ts";
import {
  BirdConfigError,
  type BirdExit,
  type BirdHandle,
  BirdStartError,
  birdsInRootNetns,
  startBird,
} from "../../src/linux/bird-process.ts";
import { parseBgpProtocols, parseBirdRoutes } from "../../src/linux/bird-status-parse.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { netnsPids } from "../../src/linux/netns.ts";
import { TestRun } from "./harness/test-run.ts";

const BIRD = "/usr/sbin/bird";

interface Side {
  readonly ns: string;
  readonly ip: string;
  readonly peerIp: string;
  readonly routerId: string;
  readonly conf: string;
  readonly ctl: string;
  readonly pid: string;
  readonly log: string[];
  readonly exits: BirdExit[];
  bird?: BirdHandle;
}

function config(side: Side, blocks: readonly string[], extra = ""): string {
  return [
    `router id ${side.routerId};`,
    "log stderr all;",
    "protocol device { scan time 5; }",
    // The peer's address in BIRD's table, so the iBGP next hop resolves (gateway recursive).
    "protocol direct { ipv4; }",
    "protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }",
    `protocol static blocks4 { ipv4; ${blocks.map((b) => `route ${b} blackhole;`).join(" ")} }`,
    "protocol bgp peer {",
    `  local ${side.ip} as 64512; neighbor ${side.peerIp} as 64512;`,
    "  hold time 9; keepalive time 3; connect delay time 1; connect retry time 1; error wait time 1, 10;",
    '  ipv4 { import all; export where proto = "blocks4"; };',
    "}",
    extra,
    "",
  ].join("\n");
}

function kernelRoute(ns: string, prefix: string): string {
  return mustRunSync(["ip", "-n", ns, "-4", "route", "show", prefix, "proto", "bird"]).stdout.trim();
}

async function session(side: Side) {
  const facts = parseBgpProtocols(await (side.bird as BirdHandle).command("show protocols all"));
  const s = facts.find((f) => f.protocol === "peer");
  if (!s) throw new Error(`no BGP protocol "peer" in ${side.ns}`);
  return s;
}

let run: TestRun | undefined;
let a: Side;
let b: Side;

describe.skipIf(!existsSync(BIRD))("bird-process: two BIRDs in namespaces", () => {
  beforeAll(() => {
    run = new TestRun();
    const dir = run.dir;
    const side = (name: string, ip: string, peerIp: string): Side => ({
      ns: (run as TestRun).createNetns(name).name,
      ip,
      peerIp,
      routerId: ip,
      conf: join(dir, `${name}.conf`),
      ctl: join(dir, `${name}.ctl`),
      pid: join(dir, `${name}.pid`),
      log: [],
      exits: [],
    });
    a = side("bgpa", "192.0.2.1", "192.0.2.2");
    b = side("bgpb", "192.0.2.2", "192.0.2.1");
    // Both ends are created inside the namespaces: nothing appears in the root namespace.
    mustRunSync([
      "ip",
      "-n",
      a.ns,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      b.ns,
    ]);
    for (const s of [a, b]) {
      mustRunSync(["ip", "-n", s.ns, "addr", "add", `${s.ip}/24`, "dev", "eth0"]);
      mustRunSync(["ip", "-n", s.ns, "link", "set", "eth0", "up"]);
    }
    writeFileSync(a.conf, config(a, ["10.244.1.0/24"]), { mode: 0o600 });
    writeFileSync(b.conf, config(b, ["10.244.2.0/24"]), { mode: 0o600 });
  });

  afterAll(async () => {
    try {
      for (const s of [a, b]) await s?.bird?.stop(3000);
    } finally {
      run?.dispose();
    }
    expect(birdsInRootNetns()).toEqual([]);
    for (const s of [a, b]) if (s?.bird) expect(existsSync(`/proc/${s.bird.pid}`)).toBe(false);
  });

  test("startBird refuses the root namespace and a second BIRD on a live socket", async () => {
    const before = birdsInRootNetns();
    const root = await startBird({ netns: null, configPath: a.conf, ctlPath: a.ctl, pidPath: a.pid }).catch(
      (e) => e,
    );
    expect(root).toBeInstanceOf(BirdStartError);
    expect((root as Error).message).toContain("this process runs in the root network namespace");
    expect(birdsInRootNetns()).toEqual(before);
    expect(existsSync(a.ctl)).toBe(false);
  });

  test("the session comes up and each block is installed in the peer's kernel", async () => {
    for (const s of [a, b]) {
      s.bird = await startBird({
        netns: s.ns,
        configPath: s.conf,
        ctlPath: s.ctl,
        pidPath: s.pid,
        log: (level, line) => s.log.push(`${level} ${line}`),
        onExit: (exit) => s.exits.push(exit),
      });
      expect(netnsPids(s.ns)).toContain(s.bird.pid);
    }
    expect(birdsInRootNetns()).toEqual([]);
    const second = await startBird({
      netns: a.ns,
      configPath: a.conf,
      ctlPath: a.ctl,
      pidPath: `${a.pid}2`,
    }).catch((e) => e);
    expect(second).toBeInstanceOf(BirdStartError);
    expect((second as Error).message).toContain("another BIRD already answers");

    const detail = () => `a: ${a.log.join("\n")}\nb: ${b.log.join("\n")}`;
    await pollUntil("10.244.1.0/24 in b's kernel", () => kernelRoute(b.ns, "10.244.1.0/24") !== "", 15_000, {
      detail,
    });
    await pollUntil("10.244.2.0/24 in a's kernel", () => kernelRoute(a.ns, "10.244.2.0/24") !== "", 15_000, {
      detail,
    });
    expect(kernelRoute(b.ns, "10.244.1.0/24")).toContain("via 192.0.2.1 dev eth0");

    const s = await session(a);
    expect(s).toMatchObject({
      state: "up",
      bgpState: "Established",
      neighbor: "192.0.2.2",
      neighborAs: 64512,
    });
    expect(s.routes).toEqual([expect.objectContaining({ family: "ipv4", imported: 1, exported: 1 })]);
    const learned = parseBirdRoutes(await (b.bird as BirdHandle).command("show route protocol peer all"));
    expect(learned.map((r) => [r.prefix, r.via, r.bgpNextHop, r.protocol])).toEqual([
      ["10.244.1.0/24", "192.0.2.1", "192.0.2.1", "peer"],
    ]);
  });

  test("a reload that adds a block keeps the session (since unchanged)", async () => {
    const [sinceA, sinceB] = [(await session(a)).since, (await session(b)).since];
    writeFileSync(a.conf, config(a, ["10.244.1.0/24", "10.244.3.0/24"]), { mode: 0o600 });
    expect(await (a.bird as BirdHandle).reload()).toBe("reconfigured");
    await pollUntil("10.244.3.0/24 in b's kernel", () => kernelRoute(b.ns, "10.244.3.0/24") !== "", 10_000);
    expect((await session(a)).since).toBe(sinceA);
    expect((await session(b)).since).toBe(sinceB);
    expect((await session(b)).bgpState).toBe("Established");
  });

  test("a bad config is refused by file:line and the old one keeps running", async () => {
    const since = (await session(b)).since;
    writeFileSync(
      a.conf,
      `${config(a, ["10.244.1.0/24"])}protocol static broken { ipv4; route 10.244.9.0/33 blackhole; }\n`,
    );
    const refused = await (a.bird as BirdHandle).reload().catch((e) => e);
    expect(refused).toBeInstanceOf(BirdConfigError);
    expect((refused as BirdConfigError).location).toMatch(new RegExp(`^${a.conf}:\\d+:\\d+$`));
    // The control socket path refuses it too (8002), should a caller skip the check.
    const direct = await (a.bird as BirdHandle).command("configure").catch((e) => e);
    expect(direct).toBeInstanceOf(BirdReplyError);
    expect((direct as BirdReplyError).code).toBe(8002);
    expect((direct as BirdReplyError).text).toContain(`${a.conf}:`);

    expect(a.bird?.running).toBe(true);
    // Still the previous config: 10.244.3.0/24 announced, the session untouched.
    expect(kernelRoute(b.ns, "10.244.3.0/24")).not.toBe("");
    expect((await session(b)).since).toBe(since);
  });

  test("SIGTERM withdraws the blocks from the peer's kernel and leaves no socket or pid file", async () => {
    const exit = await (a.bird as BirdHandle).stop();
    expect(exit).toEqual({ code: 0, signal: null, expected: true });
    expect(a.exits).toEqual([exit]);
    expect(a.bird?.running).toBe(false);
    await pollUntil(
      "10.244.1.0/24 and 10.244.3.0/24 gone from b's kernel",
      () => kernelRoute(b.ns, "10.244.1.0/24") === "" && kernelRoute(b.ns, "10.244.3.0/24") === "",
      5000,
    );
    expect((await session(b)).state).not.toBe("up");
    // BIRD removes the routes it installed in its own kernel on a clean exit.
    expect(kernelRoute(a.ns, "10.244.2.0/24")).toBe("");
    expect(existsSync(a.ctl)).toBe(false);
    expect(existsSync(a.pid)).toBe(false);
    expect(netnsPids(a.ns)).toEqual([]);
  });

  test("graceful restart: the peer keeps the blocks while BIRD is gone and a -R start takes over", async () => {
    const gr = "graceful restart on;";
    writeFileSync(
      a.conf,
      config(a, ["10.244.1.0/24"]).replace("error wait time 1, 10;", `error wait time 1, 10; ${gr}`),
    );
    writeFileSync(
      b.conf,
      config(b, ["10.244.2.0/24"]).replace("error wait time 1, 10;", `error wait time 1, 10; ${gr}`),
    );
    // b's session options change: BIRD restarts that protocol only.
    expect(await (b.bird as BirdHandle).reload()).toBe("in-progress");
    a.bird = await startBird({ netns: a.ns, configPath: a.conf, ctlPath: a.ctl, pidPath: a.pid });
    await pollUntil("10.244.1.0/24 in b's kernel", () => kernelRoute(b.ns, "10.244.1.0/24") !== "", 15_000);
    await pollUntil("10.244.2.0/24 in a's kernel", () => kernelRoute(a.ns, "10.244.2.0/24") !== "", 15_000);

    const exit = await (a.bird as BirdHandle).gracefulRestart();
    expect(exit.expected).toBe(true);
    expect(netnsPids(a.ns)).toEqual([]);
    await pollUntil("b to see the session go", async () => (await session(b)).state !== "up", 5000);
    // Stale, not withdrawn: b keeps a's block, a's kernel keeps b's.
    expect(kernelRoute(b.ns, "10.244.1.0/24")).toContain("via 192.0.2.1");
    expect(kernelRoute(a.ns, "10.244.2.0/24")).toContain("via 192.0.2.2");

    a.bird = await startBird({
      netns: a.ns,
      configPath: a.conf,
      ctlPath: a.ctl,
      pidPath: a.pid,
      recover: true,
    });
    await pollUntil(
      "the session to be back",
      async () => (await session(b)).bgpState === "Established",
      15_000,
    );
    expect(kernelRoute(b.ns, "10.244.1.0/24")).toContain("via 192.0.2.1");
    expect(birdsInRootNetns()).toEqual([]);
  });

  test("stop() kills a BIRD that does not end on SIGTERM once the timeout passes", async () => {
    const bird = a.bird as BirdHandle;
    // A stopped process cannot act on SIGTERM: it stands for a hung BIRD.
    process.kill(bird.pid, "SIGSTOP");
    const exit = await bird.stop(300);
    expect(exit).toEqual({ code: null, signal: "SIGKILL", expected: true });
    expect(netnsPids(a.ns)).toEqual([]);
  });

  test("a BIRD that dies unasked is reported to onExit as unexpected", async () => {
    const bird = b.bird as BirdHandle;
    process.kill(bird.pid, "SIGKILL");
    const exit = await bird.exited;
    expect(exit).toEqual({ code: null, signal: "SIGKILL", expected: false });
    expect(b.exits).toEqual([exit]);
    expect(bird.running).toBe(false);
    expect(existsSync(b.ctl)).toBe(false);
  });
});
