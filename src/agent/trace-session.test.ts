import { describe, expect, test } from "bun:test";
import type { TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { fakeTraceKernel } from "./trace-kernel.fake.ts";
import { flowAddresses, sentinelPort, sweepTraceTables, TraceSession, traceRules } from "./trace-session.ts";

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
  test("match the pairs and every port of the flow, count VXLAN to the peers", () => {
    expect(traceRules(ID, spec, 4789)).toEqual({
      table: "podnet-trace-abcd1234efgh",
      l4proto: "tcp",
      pairs: spec.match.pairs,
      ports: [80, 8080, 41000],
      vxlan: { port: 4789, peers: ["198.51.100.13"] },
      sentinel: { address: "127.0.0.1", port: sentinelPort(ID) },
    });
    const icmp = traceRules(ID, { ...spec, proto: "icmp", destination: { ip: "10.96.0.40" } }, 4789);
    expect(icmp.ports).toEqual([]);
  });

  test("sentinel ports are stable per id, and differ between ids", () => {
    expect(sentinelPort(ID)).toBe(sentinelPort(ID));
    const ports = new Set(["aaaaaaaa", "aaaaaaab", "bbbbbbbb", "zz99zz99"].map(sentinelPort));
    expect(ports.size).toBe(4);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(1024);
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

  test("the sweep removes every podnet-trace table", async () => {
    const kernel = fakeTraceKernel(["podnet-trace-old12345", "podnet-trace-older678"]);
    expect(await sweepTraceTables(kernel)).toEqual(["podnet-trace-old12345", "podnet-trace-older678"]);
    expect(kernel.tables.size).toBe(0);
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
