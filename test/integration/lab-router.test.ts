/**
 * lab/lab-router.ts with real BIRDs (Debian's bird2): a router namespace and a node namespace of
 * our own (`pntest-<id>-bgpr`, `-bgpn`, a TestRun's) joined by a veth on 192.0.2.0/24. The lab
 * router's BIRD runs under its detached supervisor inside the router's namespace, with the config
 * lab-router-bird.ts renders (dynamic neighbors on the segment, MD5 password, pod routes only); the
 * node runs a BIRD announcing a pod block and a route outside the pod ranges. Checked: the node's
 * dynamic session comes up, the router's kernel gets the block via the node (proto bird) and not
 * the other route; a node's stop withdraws the block; stopLabRouter stops supervisor and BIRD
 * cleanly; and no BIRD ever runs in the root namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import {
  type LabRouterBird,
  labRouterCommand,
  labRouterPaths,
  reconfigureLabRouter,
  startLabRouter,
  stopLabRouter,
} from "../../src/lab/lab-router.ts";
import type { LabRouterBirdInput } from "../../src/lab/lab-router-bird.ts";
import { type BirdHandle, birdsInRootNetns, startBird } from "../../src/linux/bird-process.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { netnsPids } from "../../src/linux/netns.ts";
import { TestRun } from "./harness/test-run.ts";

const BIRD = "/usr/sbin/bird";
const PASSWORD = "lab s3cret!";
const INPUT: LabRouterBirdInput = {
  routerId: "192.0.2.1",
  segments: [{ name: "lan1", cidrs: ["192.0.2.0/24"] }],
  asNumber: 64512,
  password: PASSWORD,
  podCidrs: ["10.244.0.0/16"],
};

let run: TestRun | undefined;
let routerNs = "";
let nodeNs = "";
let labDir = "";
let router: LabRouterBird | undefined;
let node: BirdHandle | undefined;
const nodeLog: string[] = [];

function nodeConfig(): string {
  return [
    "router id 192.0.2.11;",
    "log stderr all;",
    "protocol device { scan time 5; }",
    "protocol static blocks4 { ipv4; route 10.244.1.0/24 blackhole; route 10.99.0.0/24 blackhole; }",
    "protocol bgp uplink {",
    "  local 192.0.2.11 as 64512; neighbor 192.0.2.1 as 64512;",
    "  hold time 9; keepalive time 3; connect delay time 1; connect retry time 1; error wait time 1, 10;",
    `  password "${PASSWORD}";`,
    '  ipv4 { import all; export where proto = "blocks4"; };',
    "}",
    "",
  ].join("\n");
}

const routerRoute = (prefix: string) =>
  mustRunSync(["ip", "-n", routerNs, "-4", "route", "show", prefix, "proto", "bird"]).stdout.trim();

/** The router's import counters of the node's session: [received, rejected, filtered, ignored, accepted]. */
async function importUpdates(): Promise<number[] | undefined> {
  const text = await labRouterCommand(labDir, "show protocols all lan1_v4_1").catch(() => "");
  const m = /Import updates:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  return m ? m.slice(1).map(Number) : undefined;
}

describe.skipIf(!existsSync(BIRD))("lab router BIRD", () => {
  beforeAll(() => {
    run = new TestRun();
    routerNs = run.createNetns("bgpr").name;
    nodeNs = run.createNetns("bgpn").name;
    labDir = join(run.dir, "lab");
    mustRunSync([
      "ip",
      "-n",
      routerNs,
      "link",
      "add",
      "r-lan1",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      nodeNs,
    ]);
    mustRunSync(["ip", "-n", routerNs, "addr", "add", "192.0.2.1/24", "dev", "r-lan1"]);
    mustRunSync(["ip", "-n", routerNs, "link", "set", "r-lan1", "up"]);
    mustRunSync(["ip", "-n", nodeNs, "addr", "add", "192.0.2.11/24", "dev", "eth0"]);
    mustRunSync(["ip", "-n", nodeNs, "link", "set", "eth0", "up"]);
  });

  afterAll(async () => {
    try {
      await node?.stop(3000);
      if (labDir) await stopLabRouter(labDir, 3000);
    } finally {
      run?.dispose();
    }
    expect(birdsInRootNetns()).toEqual([]);
  });

  test("starts under its supervisor inside the router's namespace, config mode 0600", async () => {
    // The supervisor runs what `podnet lab router-bird --dir DIR` runs, from the sources.
    const module = join(import.meta.dir, "../../src/lab/lab-router.ts");
    router = await startLabRouter({
      netns: routerNs,
      labDir,
      input: INPUT,
      supervisorArgv: [
        process.execPath,
        "-e",
        `process.exit(await (await import(${JSON.stringify(module)})).labRouterBirdMain(${JSON.stringify(labDir)}))`,
      ],
    });
    const pids = netnsPids(routerNs);
    expect(pids).toContain(router.birdPid);
    expect(pids).toContain(router.supervisorPid);
    expect(birdsInRootNetns()).toEqual([]);
    expect(statSync(router.configPath).mode & 0o777).toBe(0o600);
  });

  test("a node on the segment peers; the router installs its pod block only", async () => {
    writeFileSync(join(run?.dir as string, "node.conf"), nodeConfig(), { mode: 0o600 });
    node = await startBird({
      netns: nodeNs,
      configPath: join(run?.dir as string, "node.conf"),
      ctlPath: join(run?.dir as string, "node.ctl"),
      pidPath: join(run?.dir as string, "node.pid"),
      log: (level, line) => nodeLog.push(`${level} ${line}`),
    });
    const detail = () =>
      `node: ${nodeLog.join("\n")}\nrouter log: ${existsSync(labRouterPaths(labDir).logPath) ? mustRunSync(["tail", "-n", "20", labRouterPaths(labDir).logPath]).stdout : "(none)"}`;
    await pollUntil(
      "10.244.1.0/24 in the router's kernel",
      () => routerRoute("10.244.1.0/24") !== "",
      15_000,
      {
        detail,
      },
    );
    expect(routerRoute("10.244.1.0/24")).toContain("via 192.0.2.11 dev r-lan1");
    // Both routes arrived; the one outside the pod ranges was filtered on import.
    const { value: updates } = await pollUntil(
      "both routes at the router",
      async () => {
        const u = await importUpdates();
        return u !== undefined && (u[0] ?? 0) >= 2 && u;
      },
      10_000,
      { detail },
    );
    expect(updates.slice(0, 3)).toEqual([2, 0, 1]);
    expect(routerRoute("10.99.0.0/24")).toBe("");
    const protocols = await labRouterCommand(labDir, "show protocols");
    expect(protocols).toMatch(/lan1_v4_1\s+BGP\s+---\s+up\s+\S+\s+Established/);
  });

  test("a reconfigure with other pod ranges drops the block, and back brings it again, on the same session", async () => {
    const since = /lan1_v4_1\s+BGP\s+---\s+up\s+(\S+)/.exec(
      await labRouterCommand(labDir, "show protocols"),
    )?.[1];
    expect(since).toBeDefined();
    expect(await reconfigureLabRouter(labDir, { ...INPUT, podCidrs: ["10.245.0.0/16"] })).toContain(
      "Reconfigured",
    );
    await pollUntil(
      "10.244.1.0/24 gone from the router's kernel",
      () => routerRoute("10.244.1.0/24") === "",
      5000,
    );
    await reconfigureLabRouter(labDir, INPUT);
    await pollUntil(
      "10.244.1.0/24 back in the router's kernel",
      () => routerRoute("10.244.1.0/24") !== "",
      5000,
    );
    expect(await labRouterCommand(labDir, "show protocols")).toMatch(
      new RegExp(`lan1_v4_1\\s+BGP\\s+---\\s+up\\s+${since?.replaceAll(".", "\\.")}\\s+Established`),
    );
  });

  test("the node's stop withdraws its block from the router at once", async () => {
    expect(node?.running).toBe(true);
    expect(routerRoute("10.244.1.0/24")).not.toBe("");
    await node?.stop(3000);
    await pollUntil(
      "10.244.1.0/24 gone from the router's kernel",
      () => routerRoute("10.244.1.0/24") === "",
      5000,
    );
  });

  test("stopLabRouter stops supervisor and BIRD without killing them; nothing is left", async () => {
    const r = router as LabRouterBird;
    expect(r).toBeDefined();
    expect(await stopLabRouter(labDir)).toEqual([]);
    expect(existsSync(`/proc/${r.birdPid}`)).toBe(false);
    expect(netnsPids(routerNs)).toEqual([]);
    expect(existsSync(labRouterPaths(labDir).pidPath)).toBe(false);
    expect(existsSync(labRouterPaths(labDir).ctlPath)).toBe(false);
    expect(birdsInRootNetns()).toEqual([]);
    // Stopping again finds nothing to stop.
    expect(await stopLabRouter(labDir)).toEqual([]);
  });
});
