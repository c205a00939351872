import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { pollUntil } from "../base/poll-until.ts";
import type { DiagnosisRequest, ProbeResult, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_PREFIX, DIAGNOSIS_REQUESTS_PREFIX, diagnosisKey } from "../cluster/diagnosis-protocol.ts";
import {
  parseArmedReport,
  parseNodeFacts,
  parseNodeObservation,
  parseProbeResult,
} from "../cluster/diagnosis-records.ts";
import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import { NodeState } from "../node-state/node-state.ts";
import { openSqliteStore, type SqliteStore } from "../store/sqlite-store.ts";
import type { Store } from "../store/store.ts";
import { DiagnosisResponder, type DiagnosisResponderOptions } from "./diagnosis-responder.ts";
import type { KernelReaders } from "./node-facts.ts";
import { probeArgv } from "./probe-runner.ts";
import { type FakeTraceKernel, fakeTraceKernel } from "./trace-kernel.fake.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const readers: KernelReaders = {
  readInterfaces: async () => [],
  readRoutes: async () => [],
  lookupRoute: async () => ({ error: "Network is unreachable" }),
  readNeighbours: async () => [],
  readFdb: async () => [],
  listConntrack: async () => ({ entries: [], errors: [] }),
  readProxyTable: async () => ({ tables: [], liveTables: [], sets: [], chains: [] }),
  readSysctl: () => "1",
};

const spec: TraceSpec = {
  proto: "tcp",
  source: { kind: "node", node: "node1" },
  destination: { ip: "10.244.2.2", port: 8080 },
  sourcePort: 41000,
  match: { pairs: [["192.0.2.11", "10.244.2.2"]], ports: [] },
  vxlanPeers: [],
  probeTimeoutMs: 1000,
};

function request(id: string, kind: "facts" | "trace", nodes: string[] = []): DiagnosisRequest {
  return {
    id,
    kind,
    createdAt: new Date().toISOString(),
    requester: "unit test",
    nodes,
    addresses: [],
    routeLookups: [],
    ...(kind === "trace" ? { trace: spec } : {}),
  };
}

let dir = "";
let store: SqliteStore;
let responders: DiagnosisResponder[] = [];
let probes: TraceSpec[] = [];

beforeEach(() => {
  dir = mkdtempSync("/tmp/podnet-diag-responder-");
  store = openSqliteStore(`${dir}/store.db`, { pollIntervalMs: 20, sweepIntervalMs: 100 });
  responders = [];
  probes = [];
});

afterEach(async () => {
  for (const r of responders) await r.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(
  node: string,
  kernel: FakeTraceKernel,
  metrics = new Metrics(),
  extra: Partial<DiagnosisResponderOptions> = {},
  on: Store = store,
): Promise<DiagnosisResponder> {
  const r = new DiagnosisResponder(
    on,
    {
      facts: {
        nodeName: node,
        backend: "auto",
        uplink: "eth0",
        stateDir: `${dir}/state-${node}`,
        cniNetwork: "podnet",
        nodeIPs: () => [],
        blocks: () => [],
        readers,
      },
      kernel,
      sendProbe: async (s): Promise<ProbeResult> => {
        probes.push(s);
        return { outcome: "answered", ms: 1, localPort: s.sourcePort ?? 0 };
      },
      observeDelayMs: 10,
      ...extra,
    },
    quiet,
    metrics,
  );
  responders.push(r);
  await r.start();
  return r;
}

const value = async (key: string) => (await store.get(key))?.value;
const present = (key: string) => pollUntil(key, () => value(key), 5000);

describe("the diagnosis responder", () => {
  test("answers a facts request that names it, under the request's lease; ignores others", async () => {
    const metrics = new Metrics();
    await start("node1", fakeTraceKernel(), metrics);
    await start("node2", fakeTraceKernel());
    const lease = await store.grantLease(10);
    await store.put(
      diagnosisKey("facts0001", "request"),
      JSON.stringify(request("facts0001", "facts", ["node1"])),
      {
        lease: lease.id,
      },
    );
    const { value: text } = await present(diagnosisKey("facts0001", "facts", "node1"));
    expect(parseNodeFacts(diagnosisKey("facts0001", "facts", "node1"), text).node).toBe("node1");
    expect((await store.get(diagnosisKey("facts0001", "facts", "node1")))?.lease).toBe(lease.id);
    // node2 is not named.
    expect(await value(diagnosisKey("facts0001", "facts", "node2"))).toBeUndefined();
    await store.revoke(lease.id);
    expect((await store.list(DIAGNOSIS_PREFIX)).kvs).toEqual([]);
    expect(await metrics.render()).toContain(
      'podnet_diagnosis_requests_total{kind="facts",result="answered"} 1',
    );
  });

  test("refuses an invalid request and one without a lease", async () => {
    await start("node1", fakeTraceKernel());
    await store.put(diagnosisKey("nolease01", "request"), JSON.stringify(request("nolease01", "facts")));
    const lease = await store.grantLease(10);
    const bad = { ...request("badreq001", "facts"), addresses: ["10.0.0.1; reboot"] };
    await store.put(diagnosisKey("badreq001", "request"), JSON.stringify(bad), { lease: lease.id });
    const good = request("goodreq01", "facts");
    await store.put(diagnosisKey("goodreq01", "request"), JSON.stringify(good), { lease: lease.id });
    await present(diagnosisKey("goodreq01", "facts", "node1"));
    expect(await value(diagnosisKey("nolease01", "facts", "node1"))).toBeUndefined();
    expect(await value(diagnosisKey("badreq001", "facts", "node1"))).toBeUndefined();
  });

  test("an invalid trace request is counted as an invalid trace (not facts)", async () => {
    const metrics = new Metrics();
    await start("node1", fakeTraceKernel(), metrics);
    const lease = await store.grantLease(10);
    const bad = { ...request("badtrace1", "trace"), addresses: ["not-an-address"] };
    await store.put(diagnosisKey("badtrace1", "request"), JSON.stringify(bad), { lease: lease.id });
    await pollUntil(
      "the invalid trace to be counted",
      async () =>
        (await metrics.render()).includes('podnet_diagnosis_requests_total{kind="trace",result="invalid"} 1'),
      5000,
    );
    expect(await metrics.render()).toContain(
      'podnet_diagnosis_requests_total{kind="facts",result="invalid"} 0',
    );
  });

  test("a trace: armed on both, the source probes on go, both observe and remove their tables", async () => {
    const k1 = fakeTraceKernel();
    const k2 = fakeTraceKernel();
    await start("node1", k1);
    await start("node2", k2);
    const id = "trace0001";
    const lease = await store.grantLease(10);
    await store.put(diagnosisKey(id, "request"), JSON.stringify(request(id, "trace", ["node1", "node2"])), {
      lease: lease.id,
    });
    for (const node of ["node1", "node2"]) {
      const { value: armed } = await present(diagnosisKey(id, "armed", node));
      expect(parseArmedReport(diagnosisKey(id, "armed", node), armed)).toEqual({
        node,
        table: `inet podnet-trace-${id}`,
      });
      await present(diagnosisKey(id, "facts", node));
    }
    expect([...k1.tables, ...k2.tables]).toEqual([`podnet-trace-${id}`, `podnet-trace-${id}`]);
    await store.put(diagnosisKey(id, "go"), "{}", { lease: lease.id });
    const { value: probe } = await present(diagnosisKey(id, "probe"));
    expect(parseProbeResult(diagnosisKey(id, "probe"), probe).outcome).toBe("answered");
    expect(probes).toHaveLength(1); // node2 is not the source
    for (const node of ["node1", "node2"]) {
      const { value: obs } = await present(diagnosisKey(id, "observed", node));
      expect(parseNodeObservation(diagnosisKey(id, "observed", node), obs).counters).toHaveLength(1);
    }
    expect(k1.tables.size + k2.tables.size).toBe(0);
    expect(k1.running + k2.running).toBe(0);
    await store.revoke(lease.id);
  });

  test("a request whose lease is revoked after arming leaves nothing installed", async () => {
    const kernel = fakeTraceKernel();
    await start("node1", kernel);
    const id = "revoked01";
    const lease = await store.grantLease(10);
    await store.put(diagnosisKey(id, "request"), JSON.stringify(request(id, "trace")), { lease: lease.id });
    await present(diagnosisKey(id, "armed", "node1"));
    expect(kernel.tables.size).toBe(1);
    await store.revoke(lease.id);
    await pollUntil("the trace table to go", () => kernel.tables.size === 0 && kernel.running === 0, 5000);
  });

  test("arming failure is reported in armed, with no table left", async () => {
    const kernel = fakeTraceKernel();
    kernel.failInstall = "Error: Could not process rule: Operation not supported";
    await start("node1", kernel);
    const id = "armfail01";
    const lease = await store.grantLease(10);
    await store.put(diagnosisKey(id, "request"), JSON.stringify(request(id, "trace")), { lease: lease.id });
    const { value: armed } = await present(diagnosisKey(id, "armed", "node1"));
    expect(parseArmedReport(diagnosisKey(id, "armed", "node1"), armed).error).toContain(
      "Operation not supported",
    );
    expect(kernel.tables.size).toBe(0);
    await store.revoke(lease.id);
  });

  test("a session ends on its own at the cap; start sweeps leftovers; stop cleans up", async () => {
    const kernel = fakeTraceKernel(["podnet-trace-leftover1"]);
    const r = new DiagnosisResponder(
      store,
      {
        facts: {
          nodeName: "node1",
          backend: "auto",
          uplink: "eth0",
          stateDir: `${dir}/state`,
          cniNetwork: "podnet",
          nodeIPs: () => [],
          blocks: () => [],
          readers,
        },
        kernel,
        sessionCapMs: 300,
      },
      quiet,
      new Metrics(),
    );
    responders.push(r);
    await r.start();
    expect(kernel.tables.size).toBe(0);
    const lease = await store.grantLease(10);
    await store.put(diagnosisKey("capped001", "request"), JSON.stringify(request("capped001", "trace")), {
      lease: lease.id,
    });
    await present(diagnosisKey("capped001", "armed", "node1"));
    await pollUntil("the capped session to end", () => kernel.tables.size === 0, 5000);
    await store.put(diagnosisKey("stopped01", "request"), JSON.stringify(request("stopped01", "trace")), {
      lease: lease.id,
    });
    await present(diagnosisKey("stopped01", "armed", "node1"));
    expect(kernel.tables.size).toBe(1);
    await r.stop();
    expect(kernel.tables.size).toBe(0);
    expect(kernel.running).toBe(0);
  });
});

describe("requests written before the agent starts", () => {
  test("an unanswered one is answered; one this node answered before its restart is not armed again", async () => {
    const lease = await store.grantLease(10);
    await store.put(diagnosisKey("earlier01", "request"), JSON.stringify(request("earlier01", "trace")), {
      lease: lease.id,
    });
    await store.put(diagnosisKey("answered1", "request"), JSON.stringify(request("answered1", "trace")), {
      lease: lease.id,
    });
    await store.put(diagnosisKey("answered1", "facts", "node1"), "{}", { lease: lease.id });
    const kernel = fakeTraceKernel();
    await start("node1", kernel);
    await present(diagnosisKey("earlier01", "armed", "node1"));
    expect([...kernel.tables]).toEqual(["podnet-trace-earlier01"]);
    expect(await value(diagnosisKey("answered1", "armed", "node1"))).toBeUndefined();
    await store.revoke(lease.id);
    await pollUntil("the trace table to go", () => kernel.tables.size === 0, 5000);
  });
});

describe("review fixes", () => {
  test("the agent lists and watches requests only, never the other nodes' answers", async () => {
    const prefixes: string[] = [];
    const spy: Store = Object.assign(Object.create(store) as Store, {
      list: (prefix: string) => {
        prefixes.push(prefix);
        return store.list(prefix);
      },
      watch: (prefix: string, o: Parameters<Store["watch"]>[1]) => {
        prefixes.push(prefix);
        return store.watch(prefix, o);
      },
    });
    await start("node1", fakeTraceKernel(), new Metrics(), {}, spy);
    const lease = await store.grantLease(10);
    await store.put(diagnosisKey("spied0001", "request"), JSON.stringify(request("spied0001", "facts")), {
      lease: lease.id,
    });
    await present(diagnosisKey("spied0001", "facts", "node1"));
    expect(prefixes.length).toBeGreaterThan(0);
    for (const p of prefixes) expect(p).toBe(DIAGNOSIS_REQUESTS_PREFIX);
    await store.revoke(lease.id);
  });

  test("beyond the concurrent-trace limit a trace is refused with an armed error naming it; facts still come", async () => {
    const kernel = fakeTraceKernel();
    await start("node1", kernel, new Metrics(), { maxConcurrentTraces: 1 });
    const lease = await store.grantLease(10);
    await store.put(diagnosisKey("first0001", "request"), JSON.stringify(request("first0001", "trace")), {
      lease: lease.id,
    });
    await present(diagnosisKey("first0001", "armed", "node1"));
    await store.put(diagnosisKey("second001", "request"), JSON.stringify(request("second001", "trace")), {
      lease: lease.id,
    });
    const { value: armed } = await present(diagnosisKey("second001", "armed", "node1"));
    expect(parseArmedReport(diagnosisKey("second001", "armed", "node1"), armed).error).toBe(
      "too many traces in progress on node1 (limit 1); try again when one ended",
    );
    await present(diagnosisKey("second001", "facts", "node1"));
    expect([...kernel.tables]).toEqual(["podnet-trace-first0001"]);
    await store.revoke(lease.id);
  });

  test("a pod source whose record or namespace is unusable gets a probe error naming pod and path", async () => {
    const kernel = fakeTraceKernel();
    const stateDir = `${dir}/state-node1`;
    const state = NodeState.open(stateDir);
    state.allocate(
      { network: "podnet", containerId: "c1", ifname: "eth0" },
      buildRangeSets([[{ subnet: "10.244.1.0/24" }]]),
      [],
      {
        namespace: "default",
        name: "stale",
        labels: {},
        netns: dir,
      },
    );
    state.close();
    await start("node1", kernel, new Metrics(), { sendProbe: undefined });
    const lease = await store.grantLease(10);
    for (const [id, name, expected] of [
      [
        "podgone01",
        "gone",
        "cannot send the probe from pod default/gone on node1: pod default/gone has no record on node1",
      ],
      ["podstale1", "stale", `cannot send the probe from pod default/stale on node1:`],
    ] as const) {
      const r = {
        ...request(id, "trace"),
        trace: { ...spec, source: { kind: "pod" as const, node: "node1", namespace: "default", name } },
      };
      await store.put(diagnosisKey(id, "request"), JSON.stringify(r), { lease: lease.id });
      await present(diagnosisKey(id, "armed", "node1"));
      await store.put(diagnosisKey(id, "go"), "{}", { lease: lease.id });
      const { value: probe } = await present(diagnosisKey(id, "probe"));
      const result = parseProbeResult(diagnosisKey(id, "probe"), probe);
      expect(result.outcome).toBe("error");
      expect(result.error).toStartWith(expected);
      if (name === "stale") expect(result.error).toContain(dir);
    }
    await store.revoke(lease.id);
  });

  test("the start-up sweep removes each leftover on its own and retries the ones that failed", async () => {
    const kernel = fakeTraceKernel(["podnet-trace-stuck0001", "podnet-trace-other0001"]);
    kernel.undeletable.add("podnet-trace-stuck0001");
    await start("node1", kernel, new Metrics(), { sweepRetryMs: 30 });
    expect([...kernel.tables]).toEqual(["podnet-trace-stuck0001"]);
    expect(kernel.orphanSweeps).toBe(1);
    kernel.undeletable.clear();
    await pollUntil("the retried sweep", () => kernel.tables.size === 0, 5000);
  });
});

describe("probe command line", () => {
  test("runs podnet probe in the pod's namespace with the spec's ports", () => {
    expect(probeArgv("/usr/bin/podnet", spec, "/run/netns/pod")).toEqual([
      "nsenter",
      "--net=/run/netns/pod",
      "/usr/bin/podnet",
      "probe",
      "--to",
      "10.244.2.2",
      "--proto",
      "tcp",
      "--port",
      "8080",
      "--sport",
      "41000",
      "--timeout-ms",
      "1000",
    ]);
    const icmp = probeArgv("/p", { ...spec, proto: "icmp", destination: { ip: "10.244.2.2" } }, undefined);
    expect(icmp).toEqual(["/p", "probe", "--to", "10.244.2.2", "--proto", "icmp", "--timeout-ms", "1000"]);
  });
});
