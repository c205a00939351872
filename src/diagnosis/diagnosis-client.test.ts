import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { useTempStores } from "../../test/support/temp-store.ts";
import { pollUntil } from "../base/poll-until.ts";
import type { ProbeResult, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_PREFIX } from "../cluster/diagnosis-protocol.ts";
import { openStore } from "../store/open-store.ts";
import type { Lease, Store } from "../store/store.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { collectFacts, runTraceSession, type TraceSessionPlan } from "./diagnosis-client.ts";
import { DIAGNOSIS_LEASE_TTL_SECONDS, DiagnosisSessionError } from "./diagnosis-session.ts";
import { FAKE_PROBE, FakeAgents, type FakeBehaviour } from "./fake-agents.ts";

const store = useTempStores("podnet-diag-client");
const agents: FakeAgents[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.close();
});

async function withAgents(s: Store, behaviour: Record<string, FakeBehaviour>): Promise<FakeAgents> {
  const a = await FakeAgents.start(s, behaviour);
  agents.push(a);
  return a;
}

const node = (name: string, ip: string) => ({
  name,
  nodeIPs: [ip],
  blocks: [],
  backend: "auto" as const,
  vtepMac: "02:00:00:00:00:01",
});

const snapshot: ClusterSnapshot = {
  store: "test",
  revision: 1,
  readAt: "2026-12-06T10:00:00.000Z",
  config: { clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"], nodeBlockLength: { "4": 24 } },
  nodes: [node("node1", "192.0.2.11"), node("node2", "192.0.2.12"), node("node3", "198.51.100.13")],
  blocks: [],
  pods: [],
  services: [],
  invalid: [],
};

const noSignals = { handleSignals: false };

async function leftovers(s: Store): Promise<string[]> {
  return (await s.list(DIAGNOSIS_PREFIX)).kvs.map((kv) => kv.key);
}

function tracePlan(source: TraceSpec["source"], nodes: string[]): TraceSessionPlan {
  return {
    spec: {
      proto: "tcp",
      source,
      destination: { ip: "10.244.2.2", port: 8080 },
      sourcePort: 21000,
      match: { pairs: [["10.244.1.2", "10.244.2.2"]], ports: [21000, 8080] },
      vxlanPeers: [],
      probeTimeoutMs: 1000,
    },
    request: { nodes, addresses: ["10.244.1.2", "10.244.2.2"], routeLookups: [{ dst: "10.244.2.2" }] },
  };
}

const POD_SOURCE: TraceSpec["source"] = { kind: "pod", node: "node1", namespace: "default", name: "node1-a" };

describe("collectFacts", () => {
  test("every node answers: facts in node order, nothing missing, nothing left behind", async () => {
    const s = await store();
    const fake = await withAgents(s, { node1: "answer", node2: "answer", node3: "answer" });
    const started = Date.now();
    const { facts, missing } = await collectFacts(
      s,
      snapshot,
      { nodes: [], addresses: ["10.244.1.2"], routeLookups: [{ dst: "10.244.1.2" }] },
      { timeoutMs: 5000, session: noSignals },
    );
    expect(Date.now() - started).toBeLessThan(2000); // does not wait for the timeout
    expect(facts.map((f) => f.node)).toEqual(["node1", "node2", "node3"]);
    expect(missing).toEqual([]);
    const [request] = fake.requests;
    expect(request?.kind).toBe("facts");
    expect(request?.nodes).toEqual([]);
    expect(request?.addresses).toEqual(["10.244.1.2"]);
    expect(request?.requester).toContain(`pid ${process.pid}`);
    expect(await leftovers(s)).toEqual([]);
  });

  test("a silent node is missing with the reason; a broken answer is missing with the parser's", async () => {
    const s = await store();
    await withAgents(s, { node1: "answer", node2: "silent", node3: "invalid-facts" });
    const { facts, missing } = await collectFacts(
      s,
      snapshot,
      { nodes: [], addresses: [], routeLookups: [] },
      { timeoutMs: 600, session: noSignals },
    );
    expect(facts.map((f) => f.node)).toEqual(["node1"]);
    expect(missing.map((m) => m.node)).toEqual(["node2", "node3"]);
    expect(missing[0]?.reason).toMatch(/^no answer within 0\.\d s — is its agent running\?$/);
    expect(missing[1]?.reason).toBe("answered malformed facts: collectedAt must be a string");
    expect(await leftovers(s)).toEqual([]);
  });

  test("only the named nodes are asked and waited for", async () => {
    const s = await store();
    const fake = await withAgents(s, { node1: "answer", node2: "answer" });
    const { facts, missing } = await collectFacts(
      s,
      snapshot,
      { nodes: ["node2"], addresses: [], routeLookups: [] },
      { timeoutMs: 3000, session: noSignals },
    );
    expect(fake.requests[0]?.nodes).toEqual(["node2"]);
    expect(facts.map((f) => f.node)).toEqual(["node2"]);
    expect(missing).toEqual([]);
  });

  test("the request's lease has the protocol's TTL and is kept alive while the session runs", async () => {
    const s = await store();
    const calls: string[] = [];
    const recording: Store = Object.assign(Object.create(s) as Store, {
      grantLease: async (ttl: number): Promise<Lease> => {
        calls.push(`grant ${ttl}`);
        return await s.grantLease(ttl);
      },
      keepAlive: async (id: string) => {
        calls.push("keepAlive");
        await s.keepAlive(id);
      },
      revoke: async (id: string) => {
        calls.push("revoke");
        await s.revoke(id);
      },
    });
    await collectFacts(
      recording,
      snapshot,
      { nodes: ["node1"], addresses: [], routeLookups: [] },
      { timeoutMs: 400, session: { handleSignals: false, keepAliveMs: 50 } },
    );
    expect(calls[0]).toBe(`grant ${DIAGNOSIS_LEASE_TTL_SECONDS}`);
    expect(DIAGNOSIS_LEASE_TTL_SECONDS).toBe(10);
    expect(calls.filter((c) => c === "keepAlive").length).toBeGreaterThanOrEqual(3);
    expect(calls.at(-1)).toBe("revoke");
  });
});

describe("runTraceSession", () => {
  test("pod source: facts, armed, go, the source agent's probe, observations; keys gone after", async () => {
    const s = await store();
    const fake = await withAgents(s, { node1: "answer", node2: "answer", node3: "answer" });
    const result = await runTraceSession(s, snapshot, tracePlan(POD_SOURCE, ["node1", "node2"]), {
      timeoutMs: 5000,
      probe: true,
      session: noSignals,
    });
    expect(fake.requests[0]?.kind).toBe("trace");
    expect(fake.requests[0]?.trace?.source).toEqual(POD_SOURCE);
    expect(fake.seen).toEqual(["go", "probe"]);
    expect(result.facts.map((f) => f.node)).toEqual(["node1", "node2"]);
    expect(result.observations.map((o) => o.node)).toEqual(["node1", "node2"]);
    expect(result.probe).toEqual(FAKE_PROBE);
    expect(result.missing).toEqual([]);
    expect(await leftovers(s)).toEqual([]);
  });

  test("a node that cannot arm is missing with its error; the others are still observed", async () => {
    const s = await store();
    await withAgents(s, { node1: "answer", node2: "arm-error", node3: "no-observation" });
    const result = await runTraceSession(s, snapshot, tracePlan(POD_SOURCE, ["node1", "node2", "node3"]), {
      timeoutMs: 1500,
      probe: true,
      session: noSignals,
    });
    expect(result.observations.map((o) => o.node)).toEqual(["node1"]);
    expect(result.facts.map((f) => f.node)).toEqual(["node1", "node2", "node3"]);
    expect(result.missing).toEqual([
      { node: "node2", reason: "could not arm its tracing rules: nft: Operation not permitted" },
      { node: "node3", reason: "armed, but reported no observation in time" },
    ]);
  });

  test("a silent source node: no probe result, said so", async () => {
    const s = await store();
    const fake = await withAgents(s, { node1: "silent", node2: "answer" });
    const result = await runTraceSession(s, snapshot, tracePlan(POD_SOURCE, ["node1", "node2"]), {
      timeoutMs: 1200,
      probe: true,
      session: noSignals,
    });
    expect(fake.seen).toEqual(["go"]);
    expect(result.probe).toBeUndefined();
    // node2 armed but saw no probe result, so it observed nothing: the missing probe says why.
    expect(result.observations).toEqual([]);
    expect(result.missing.map((m) => m.node)).toEqual(["node1", "node1"]);
    expect(result.missing[0]?.reason).toContain("is its agent running?");
    expect(result.missing[1]?.reason).toContain("the probe result never came");
  });

  test("external source: the requester sends the probe and publishes it for the agents", async () => {
    const s = await store();
    const fake = await withAgents(s, { node1: "answer", node2: "answer" });
    const sent: TraceSpec[] = [];
    const outside: ProbeResult = { outcome: "answered", ms: 4, localIp: "203.0.113.100", localPort: 21000 };
    const result = await runTraceSession(
      s,
      snapshot,
      tracePlan({ kind: "external", ip: "203.0.113.100" }, ["node1", "node2"]),
      {
        timeoutMs: 5000,
        probe: true,
        session: noSignals,
        sendProbe: async (spec) => {
          sent.push(spec);
          return outside;
        },
      },
    );
    expect(sent.map((s) => s.destination)).toEqual([{ ip: "10.244.2.2", port: 8080 }]);
    expect(fake.seen).toEqual(["go", "probe"]);
    expect(result.probe).toEqual(outside);
    expect(result.observations.map((o) => o.node)).toEqual(["node1", "node2"]);
    expect(result.missing).toEqual([]);
  });

  test("external source without a prober is refused before anything is put", async () => {
    const s = await store();
    await expect(
      runTraceSession(s, snapshot, tracePlan({ kind: "external", ip: "203.0.113.100" }, ["node1"]), {
        timeoutMs: 1000,
        probe: true,
        session: noSignals,
      }),
    ).rejects.toBeInstanceOf(DiagnosisSessionError);
    expect(await leftovers(s)).toEqual([]);
  });

  test("--no-probe: a facts request only, nothing armed or sent", async () => {
    const s = await store();
    const fake = await withAgents(s, { node1: "answer", node2: "answer" });
    const result = await runTraceSession(s, snapshot, tracePlan(POD_SOURCE, ["node1", "node2"]), {
      timeoutMs: 3000,
      probe: false,
      session: noSignals,
    });
    expect(fake.requests[0]?.kind).toBe("facts");
    expect(fake.seen).toEqual([]);
    expect(result.facts.map((f) => f.node)).toEqual(["node1", "node2"]);
    expect(result.observations).toEqual([]);
    expect(result.probe).toBeUndefined();
  });
});

describe("a requester that dies", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A child process that starts a facts request nobody answers and waits in it. */
  function startChild(dbPath: string, ttlSeconds: number): ReturnType<typeof Bun.spawn> {
    const dir = mkdtempSync(join(tmpdir(), "podnet-diag-child-"));
    dirs.push(dir);
    const src = resolve(import.meta.dir, "..");
    const script = join(dir, "child.ts");
    writeFileSync(
      script,
      `import { openStore } from "${src}/store/open-store.ts";
import { collectFacts } from "${src}/diagnosis/diagnosis-client.ts";
const store = await openStore(${JSON.stringify(`sqlite:${dbPath}`)});
const snapshot = JSON.parse(${JSON.stringify(JSON.stringify(snapshot))});
await collectFacts(store, snapshot, { nodes: ["node1"], addresses: [], routeLookups: [] },
  { timeoutMs: 120000, session: { ttlSeconds: ${ttlSeconds} } });
`,
    );
    return Bun.spawn([process.execPath, script], { stdout: "ignore", stderr: "pipe" });
  }

  async function childDb(): Promise<{ s: Store; path: string }> {
    const dir = mkdtempSync(join(tmpdir(), "podnet-diag-db-"));
    dirs.push(dir);
    const path = join(dir, "cluster.db");
    const s = await openStore(`sqlite:${path}`);
    return { s, path };
  }

  test("SIGKILLed mid-request: its keys vanish when the lease expires", async () => {
    const { s, path } = await childDb();
    try {
      const child = startChild(path, 2);
      await pollUntil("the child's request", async () => (await leftovers(s)).length > 0, 10_000);
      child.kill("SIGKILL");
      await child.exited;
      expect((await leftovers(s)).some((k) => k.endsWith("/request"))).toBe(true);
      const { ms } = await pollUntil(
        "the request to expire",
        async () => (await leftovers(s)).length === 0,
        10_000,
      );
      expect(ms).toBeGreaterThan(500); // it went with the lease, not at once
    } finally {
      await s.close();
    }
  }, 30_000);

  test("SIGINT mid-request: the lease is revoked at once and the exit code says interrupted", async () => {
    const { s, path } = await childDb();
    try {
      const child = startChild(path, 60);
      await pollUntil("the child's request", async () => (await leftovers(s)).length > 0, 10_000);
      child.kill("SIGINT");
      expect(await child.exited).toBe(130);
      // A 60 s lease: only the revocation explains the keys being gone now.
      expect(await leftovers(s)).toEqual([]);
    } finally {
      await s.close();
    }
  }, 30_000);
});
