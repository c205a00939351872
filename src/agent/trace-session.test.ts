import { describe, expect, test } from "bun:test";
import type { TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { fakeTraceKernel } from "./trace-kernel.fake.ts";
import {
  flowAddresses,
  SENTINEL_PORT,
  sentinelAddress,
  sweepTraceTables,
  TraceSession,
  TraceSweepError,
  traceRules,
} from "./trace-session.ts";

const spec: TraceSpec = {
  proto: "tcp",
  source: { kind: "pod", node: "node1", namespace: "default", name: "node1-a" },
  destination: { ip: "10.96.0.40", port: 80 },
  sourcePort: 41000,
  match: {
    pairs: [
      ["10.244.1.2", "10.96.0.40"],
      ["10.244.1.2", "10.244.2.2"],
    ],
    ports: [8080],
  },
  vxlanPeers: ["198.51.100.13"],
  probeTimeoutMs: 2000,
};
const ID = "abcd1234efgh";
const options = (kernel = fakeTraceKernel()) => ({
  nodeName: "node1",
  vxlanPort: 4789,
  sysctlKeys: ["net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter"],
  kernel,
});

describe("tracing rules", () => {
  test("match the pairs, the probe's source port on its side and the destination ports, count VXLAN to the peers", () => {
    expect(traceRules(ID, spec, 4789)).toEqual({
      table: "podnet-trace-abcd1234efgh",
      l4proto: "tcp",
      pairs: spec.match.pairs,
      ports: [80, 8080],
      sourcePort: 41000,
      vxlan: { port: 4789, peers: ["198.51.100.13"] },
      sentinel: { address: sentinelAddress(ID), port: SENTINEL_PORT },
    });
    // The requester may list the source port among the ports: it still is no destination port.
    const listed = traceRules(ID, { ...spec, match: { ...spec.match, ports: [8080, 41000] } }, 4789);
    expect(listed.ports).toEqual([80, 8080]);
    const icmp = traceRules(ID, { ...spec, proto: "icmp", destination: { ip: "10.96.0.40" } }, 4789);
    expect(icmp.ports).toEqual([]);
    expect(icmp.sourcePort).toBeUndefined();
  });

  test("pairs that do not start at the probe's source are legs after masquerade (another source port)", () => {
    const masqueraded: TraceSpec = {
      ...spec,
      match: { pairs: [...spec.match.pairs, ["192.0.2.11", "10.244.2.2"]], ports: [8080] },
    };
    const rules = traceRules(ID, masqueraded, 4789);
    expect(rules.pairs).toEqual(spec.match.pairs);
    expect(rules.natPairs).toEqual([["192.0.2.11", "10.244.2.2"]]);
    // Without a source port (an outside prober's) every pair is matched alike.
    const { sourcePort: _, ...noPort } = masqueraded;
    expect(traceRules(ID, noPort, 4789).pairs).toEqual(masqueraded.match.pairs);
    expect(traceRules(ID, noPort, 4789).natPairs).toBeUndefined();
  });

  test("sentinels: the discard port (outside the ephemeral and NodePort ranges), one loopback address per session", () => {
    expect(SENTINEL_PORT).toBeLessThan(1024);
    expect(sentinelAddress(ID)).toBe(sentinelAddress(ID));
    const addresses = new Set(
      ["aaaaaaaa", "aaaaaaab", "bbbbbbbb", "zz99zz99"].map((id) => sentinelAddress(id)),
    );
    expect(addresses.size).toBe(4);
    for (const a of addresses) expect(a).toMatch(/^127\.80\.\d{1,3}\.\d{1,3}$/);
    // A live session's address is never handed out again.
    expect(sentinelAddress(ID, new Set([sentinelAddress(ID)]))).not.toBe(sentinelAddress(ID));
  });

  test("the flow's addresses", () => {
    expect(flowAddresses(spec)).toEqual(["10.244.1.2", "10.96.0.40", "10.244.2.2"]);
  });
});

describe("a trace session", () => {
  test("arms, observes and leaves nothing installed", async () => {
    const kernel = fakeTraceKernel();
    const session = new TraceSession(ID, spec, options(kernel));
    expect(await session.arm()).toEqual({ node: "node1", table: "inet podnet-trace-abcd1234efgh" });
    expect(session.armed).toBe(true);
    expect([...kernel.tables]).toEqual(["podnet-trace-abcd1234efgh"]);
    expect(kernel.running).toBe(1);
    const observed = await session.observe();
    expect(observed.node).toBe("node1");
    expect(observed.counters).toHaveLength(1);
    expect(observed.sysctls).toEqual({ "net.ipv4.ip_forward": "1" });
    expect(observed.errors).toEqual([]);
    expect(kernel.tables.size).toBe(0);
    expect(kernel.running).toBe(0);
    await session.close();
  });

  test("a failed arming reports why and removes what it installed", async () => {
    const kernel = fakeTraceKernel();
    const failing = {
      ...kernel,
      startTraceMonitor: async () => {
        throw new Error("no sentinel event within 3000 ms");
      },
    };
    const session = new TraceSession(ID, spec, options(failing));
    const armed = await session.arm();
    expect(armed.error).toContain("no sentinel event");
    expect(session.armed).toBe(false);
    expect(kernel.tables.size).toBe(0);
  });

  test("closing mid-way stops the monitor and removes the table", async () => {
    const kernel = fakeTraceKernel();
    const session = new TraceSession(ID, spec, options(kernel));
    await session.arm();
    await session.close();
    await session.close();
    expect(kernel.tables.size).toBe(0);
    expect(kernel.running).toBe(0);
    const observed = await session.observe();
    expect(observed.errors).toContain("the trace monitor was not running");
  });

  test("the sweep removes every podnet-trace table and the monitors a crashed agent left", async () => {
    const kernel = fakeTraceKernel(["podnet-trace-old12345", "podnet-trace-older678"]);
    expect(await sweepTraceTables(kernel)).toEqual(["podnet-trace-old12345", "podnet-trace-older678"]);
    expect(kernel.tables.size).toBe(0);
    expect(kernel.orphanSweeps).toBe(1);
  });

  test("one table that cannot be deleted leaves no other behind; live sessions' tables are kept", async () => {
    const kernel = fakeTraceKernel([
      "podnet-trace-stuck0001",
      "podnet-trace-old12345",
      "podnet-trace-live12345",
    ]);
    kernel.undeletable.add("podnet-trace-stuck0001");
    const error = await sweepTraceTables(kernel, new Set(["podnet-trace-live12345"])).catch((e) => e);
    expect(error).toBeInstanceOf(TraceSweepError);
    expect((error as Error).message).toContain("podnet-trace-stuck0001");
    expect([...kernel.tables].sort()).toEqual(["podnet-trace-live12345", "podnet-trace-stuck0001"]);
  });

  test("events dropped at the size limit are named; conntrack is asked for the probe's flow only", async () => {
    const kernel = fakeTraceKernel();
    kernel.dropped = 18211;
    const session = new TraceSession(ID, spec, options(kernel));
    await session.arm();
    const observed = await session.observe();
    expect(observed.errors).toContain(
      "nft monitor trace: 18211 events dropped after the first 0 (answer size limit)",
    );
    expect(kernel.conntrackFilters.at(-1)).toEqual({
      addresses: ["10.244.1.2", "10.96.0.40", "10.244.2.2"],
      limit: 64,
      proto: "tcp",
      sourcePort: 41000,
    });
  });

  test("an arming cut short says why the session was closed", async () => {
    const session = new TraceSession(ID, spec, options());
    await session.close("request deleted");
    expect((await session.arm()).error).toBe(
      "the trace session was closed before it was armed (request deleted)",
    );
  });
});

describe("a trace session closed while it arms", () => {
  test("removes the table the install created after the close", async () => {
    const kernel = fakeTraceKernel();
    let release = () => {};
    const slow = {
      ...kernel,
      installTraceTable: async (rules: Parameters<typeof kernel.installTraceTable>[0]) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        await kernel.installTraceTable(rules);
      },
    };
    const session = new TraceSession(ID, spec, options(slow));
    const arming = session.arm();
    await session.close();
    release();
    expect((await arming).error).toContain("closed");
    expect(kernel.tables.size).toBe(0);
    expect(kernel.running).toBe(0);
  });
});
