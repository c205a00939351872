/**
 * The plugin's kernel steps run over rtnetlink in-process, with `ip -batch` as the fallback.
 * Both must leave exactly the same kernel state and fail the same way: this builds one pod's
 * worth of plan twice, once per executor, in separate namespaces, and compares what `ip` reports.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseIP } from "../../src/ipnet/address.ts";
import { parsePrefix } from "../../src/ipnet/prefix.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import type { IpCommand } from "../../src/linux/ip.ts";
import { inNetns, netnsPath } from "../../src/linux/netns.ts";
import type { AttachInput } from "../../src/plugin/link-plan.ts";
import { planAttach } from "../../src/plugin/link-plan.ts";
import { ipJsonIn } from "./harness/kernel-state.ts";
import { TestRun } from "./harness/test-run.ts";

const RUNNER = `${import.meta.dir}/harness/ip-batch-runner.ts`;
let testRun: TestRun | undefined;

beforeAll(() => {
  testRun = new TestRun();
});

afterAll(() => {
  testRun?.dispose();
});

function ns(name: string): string {
  if (!testRun) throw new Error("the test run is not set up (beforeAll failed?)");
  return testRun.createNetns(name).name;
}

interface RunnerOutput {
  ok: boolean;
  failedIndex?: number;
  exists?: boolean;
  notFound?: boolean;
  message?: string;
}

function runBatch(
  node: string,
  netlink: boolean,
  commands: readonly IpCommand[],
  target: string | null,
): RunnerOutput {
  const r = mustRunSync(inNetns(node, [process.execPath, RUNNER]), {
    stdin: JSON.stringify({ commands, netns: target }),
    env: { PODNET_NETLINK: netlink ? "1" : "0" },
  });
  return JSON.parse(r.stdout) as RunnerOutput;
}

/** What `ip` reports, without what differs by nature between two namespaces (indexes, ids). */
function snapshot(name: string) {
  const links = ipJsonIn<Record<string, unknown>>(name, ["-d", "link", "show"]).map((l) => {
    const info = l.linkinfo as
      | { info_kind?: string; info_slave_kind?: string; info_slave_data?: Record<string, unknown> }
      | undefined;
    return {
      name: l.ifname,
      mac: l.address,
      mtu: l.mtu,
      // Carrier (LOWER_UP, NO-CARRIER) reaches a veth end asynchronously (linkwatch): not configuration.
      flags: (l.flags as string[]).filter((f) => f !== "LOWER_UP" && f !== "NO-CARRIER"),
      master: l.master,
      alias: l.ifalias,
      kind: info?.info_kind,
      hairpin: info?.info_slave_data?.hairpin,
    };
  });
  const addrs = ipJsonIn<{
    ifname: string;
    addr_info: { local: string; prefixlen: number; scope: string; noprefixroute?: boolean }[];
  }>(name, ["addr", "show"]).map((l) => ({
    dev: l.ifname,
    // The kernel's own link-local address appears only once the carrier is up (see above).
    addrs: l.addr_info
      .filter((a) => !(a.scope === "link" && l.ifname === "eth0"))
      .map((a) => `${a.local}/${a.prefixlen} ${a.scope}`)
      .sort(),
  }));
  const routes = [4, 6].flatMap((f) =>
    ipJsonIn<Record<string, unknown>>(name, [`-${f}`, "route", "show", "table", "main"]).map((r) =>
      JSON.stringify({
        dst: r.dst,
        gw: r.gateway,
        dev: r.dev,
        scope: r.scope,
        src: r.prefsrc,
        proto: r.protocol,
      }),
    ),
  );
  return { links, addrs, routes: routes.sort() };
}

function input(mode: "bridge" | "ptp", podNetnsPath: string): AttachInput {
  return {
    mode,
    bridge: "pnbr0",
    existingBridge: false,
    bridgeMac: "02:11:22:33:44:55",
    mtu: 1400,
    hairpin: true,
    hostVeth: "pn0123456789ab",
    hostMac: "02:aa:bb:cc:dd:ee",
    hostAlias: "podnet:eq:container1:eth0",
    ifname: "eth0",
    containerMac: "0a:58:0a:f5:00:05",
    netnsPath: podNetnsPath,
    addresses: [
      { ip: parseIP("10.245.0.5"), prefixLength: 24, gateway: parseIP("10.245.0.1") },
      { ip: parseIP("fd00:245::5"), prefixLength: 64, gateway: parseIP("fd00:245::1") },
    ],
    routes: [
      { dst: parsePrefix("0.0.0.0/0") },
      { dst: parsePrefix("::/0") },
      // A gateway other than the pod's own is reachable only on a bridge's shared subnet.
      ...(mode === "bridge" ? [{ dst: parsePrefix("198.51.100.0/24"), gw: parseIP("10.245.0.254") }] : []),
    ],
  };
}

for (const mode of ["bridge", "ptp"] as const) {
  describe(`${mode} mode`, () => {
    test("netlink and ip -batch leave identical kernel state in the node and the pod", () => {
      const results = [true, false].map((netlink) => {
        const tag = `${mode[0]}${netlink ? "n" : "i"}`;
        const node = ns(`${tag}-node`);
        const pod = ns(`${tag}-pod`);
        const plan = planAttach(input(mode, netnsPath(pod)));
        expect(
          runBatch(node, netlink, [...plan.bridgeSetup, plan.vethCreate, ...plan.hostSetup], null),
        ).toEqual({ ok: true });
        expect(runBatch(node, netlink, plan.container, netnsPath(pod))).toEqual({ ok: true });
        // Creating the same veth again must fail the same way: EEXIST, reported at index 0.
        const again = runBatch(node, netlink, [plan.vethCreate], null);
        return { node: snapshot(node), pod: snapshot(pod), again };
      });
      const [viaNetlink, viaIp] = results;
      expect(viaNetlink?.node.links.length).toBe(mode === "bridge" ? 3 : 2); // lo, veth (and bridge)
      expect(viaNetlink?.pod.routes.length).toBeGreaterThan(2);
      expect(viaNetlink?.node).toEqual(viaIp?.node as never);
      expect(viaNetlink?.pod).toEqual(viaIp?.pod as never);
      for (const r of results) {
        expect(r.again.ok).toBe(false);
        expect(r.again.exists).toBe(true);
        expect(r.again.failedIndex).toBe(0);
      }
    });
  });
}

test("a missing device is 'not found' for both executors, naming the failed command", () => {
  const node = ns("missing");
  for (const netlink of [true, false]) {
    const r = runBatch(
      node,
      netlink,
      [
        ["link", "set", "dev", "lo", "up"],
        ["link", "del", "dev", "pnnothere0000"],
      ],
      null,
    );
    expect(r.ok).toBe(false);
    expect(r.notFound).toBe(true);
    expect(r.failedIndex).toBe(1);
    expect(r.message).toContain('"ip link del dev pnnothere0000"');
  }
});
