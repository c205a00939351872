/** The monitor's sentinel filter over real trace lines (the child itself: test/integration/kernel-facts.test.ts). */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { pollUntil } from "../base/poll-until.ts";
import type { TraceEvent } from "./kernel-facts.ts";
import {
  isOrphanMonitor,
  MONITOR_MARKER,
  type ProcessView,
  SentinelFilter,
  startTraceMonitor,
  sweepOrphanMonitors,
  TraceMonitorError,
} from "./nft-trace-monitor.ts";
import { parseTraceLine } from "./nft-trace-parse.ts";

const ev = (line: string): TraceEvent => {
  const e = parseTraceLine(line, 0);
  if (e === undefined) throw new Error(`not a trace line: ${line}`);
  return e;
};

const SENTINEL_OUT =
  'trace id 9a9251a9 inet podnet-trace-abcdefgh trace-out packet: oif "lo" ip saddr 127.0.0.1 ip daddr 127.0.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 59058 ip protocol udp ip length 29 udp sport 46301 udp dport 9 udp length 9 @th,64,8 0x78 ';
const SENTINEL_RULE =
  "trace id 9a9251a9 inet podnet-trace-abcdefgh trace-out rule ip daddr 127.0.0.1 udp dport 9 meta nftrace set 1 (verdict continue)";
const SENTINEL_POLICY = "trace id 9a9251a9 inet podnet-trace-abcdefgh trace-out policy accept ";
const REAL_SAME_ID =
  'trace id 9a9251a9 inet podnet-trace-abcdefgh trace-out packet: oif "veth0" ip saddr 192.0.2.1 ip daddr 10.96.0.10 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 5841 ip protocol tcp ip length 60 tcp sport 53316 tcp dport 80 tcp flags == syn tcp window 64240 ';
const REAL_RULE =
  "trace id 9a9251a9 inet podnet-trace-abcdefgh trace-out rule ip daddr { 10.96.0.10, 192.0.2.2 } meta nftrace set 1 (verdict continue)";
const OTHER_PORT =
  'trace id 11111111 inet podnet-trace-abcdefgh trace-out packet: oif "lo" ip saddr 127.0.0.1 ip daddr 127.0.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 1 ip protocol udp ip length 29 udp sport 46301 udp dport 53 udp length 9 @th,64,8 0x78 ';

/** Whether process `pid` has exited: gone from /proc, or a zombie left for its new parent to reap. */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

describe("SentinelFilter", () => {
  test("drops the sentinel's packet and the rule/policy lines of its trace id", () => {
    const f = new SentinelFilter("127.0.0.1", 9);
    expect(f.isSentinelPacket(ev(SENTINEL_OUT))).toBe(true);
    expect([SENTINEL_OUT, SENTINEL_RULE, SENTINEL_POLICY].map((l) => f.keep(ev(l)))).toEqual([
      false,
      false,
      false,
    ]);
  });

  test("keeps a real packet that reuses the sentinel's trace id, and what follows it", () => {
    const f = new SentinelFilter("127.0.0.1", 9);
    f.keep(ev(SENTINEL_OUT));
    expect(f.keep(ev(REAL_SAME_ID))).toBe(true);
    expect(f.keep(ev(REAL_RULE))).toBe(true);
  });

  test("loopback traffic to another port is not the sentinel", () => {
    const f = new SentinelFilter("127.0.0.1", 9);
    expect(f.keep(ev(OTHER_PORT))).toBe(true);
  });
});

describe("concurrent sessions", () => {
  test("another session's sentinel (its own loopback address, the same port) is dropped, but proves nothing", () => {
    const f = new SentinelFilter("127.80.1.2", 9);
    const other = ev(SENTINEL_OUT.replaceAll("127.0.0.1", "127.80.3.4"));
    expect(f.isSentinelPacket(other)).toBe(false);
    expect(f.keep(other)).toBe(false);
    expect(f.keep(ev(SENTINEL_RULE))).toBe(false);
    expect(f.keep(ev(REAL_SAME_ID))).toBe(true);
  });
});

describe("monitors a crashed agent left", () => {
  const self = { pid: 1000, netns: 4026531840 };
  const orphan: ProcessView = {
    pid: 2000,
    ppid: 1,
    cmdline: ["/usr/sbin/nft", "monitor", "trace"],
    environ: ["PATH=/usr/bin", MONITOR_MARKER],
    netns: 4026531840,
  };
  test("an nft monitor trace podnet started, in this namespace, not our child, is an orphan", () => {
    expect(isOrphanMonitor(orphan, self)).toBe(true);
  });
  test("our own children, other namespaces, other commands and unmarked monitors are left alone", () => {
    expect(isOrphanMonitor({ ...orphan, ppid: 1000 }, self)).toBe(false);
    expect(isOrphanMonitor({ ...orphan, netns: 4026532000 }, self)).toBe(false);
    expect(isOrphanMonitor({ ...orphan, cmdline: ["/usr/sbin/nft", "monitor"] }, self)).toBe(false);
    expect(isOrphanMonitor({ ...orphan, cmdline: ["/usr/bin/sleep", "monitor", "trace"] }, self)).toBe(false);
    expect(isOrphanMonitor({ ...orphan, environ: ["PATH=/usr/bin"] }, self)).toBe(false);
  });
  test("a real orphan in a scratch namespace is ended", async () => {
    const ns = `podnet-orphan-${Math.random().toString(36).slice(2, 8)}`;
    const path = `/run/netns/${ns}`;
    expect(Bun.spawnSync(["ip", "netns", "add", ns]).exitCode).toBe(0);
    try {
      // The shell exits at once: the monitor is reparented, as after its agent died.
      const sh = Bun.spawnSync([
        "ip",
        "netns",
        "exec",
        ns,
        "sh",
        "-c",
        `${MONITOR_MARKER} setsid nft monitor trace >/dev/null 2>&1 &`,
      ]);
      expect(sh.exitCode).toBe(0);
      // The sweep finds the monitor only once setsid has exec'd nft, some time after the shell exited.
      const { value: killed } = await pollUntil("the orphan monitor to be swept", () => {
        const pids = sweepOrphanMonitors({ netnsPath: path });
        return pids.length > 0 && pids;
      });
      expect(killed).toHaveLength(1);
      // SIGTERM is only sent: the monitor lives on until the kernel has delivered it and torn the
      // process down, and a sweep meanwhile would find (and signal) it again.
      await pollUntil(`monitor ${killed[0]} to end`, () => ended(killed[0] ?? 0));
      expect(sweepOrphanMonitors({ netnsPath: path })).toEqual([]);
    } finally {
      sweepOrphanMonitors({ netnsPath: path }); // never leave a monitor behind, even when failing
      Bun.spawnSync(["ip", "netns", "del", ns]);
    }
  });
});

describe("startTraceMonitor input checks", () => {
  test("refuses a sentinel that is not loopback or not a port, before starting anything", async () => {
    await expect(
      startTraceMonitor({ sentinel: { address: "192.0.2.1", port: 9 }, readyTimeoutMs: 100 }),
    ).rejects.toThrow(TraceMonitorError);
    await expect(
      startTraceMonitor({ sentinel: { address: "127.0.0.1", port: 0 }, readyTimeoutMs: 100 }),
    ).rejects.toThrow("not a port");
  });
});
