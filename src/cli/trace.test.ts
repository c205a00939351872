import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initClusterConfig } from "../cluster/cluster-config-store.ts";
import { DIAGNOSIS_PREFIX } from "../cluster/diagnosis-protocol.ts";
import { announceNode } from "../cluster/node-registry.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import { FakeAgents } from "../diagnosis/fake-agents.ts";
import { TargetError } from "../diagnosis/target.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { parseArgs, UsageError } from "./args.ts";
import { TRACE_SWITCHES } from "./diagnosis-args.ts";
import { TraceSourceError, traceCommand } from "./trace.ts";

const opened: { dir: string; store: Store; agents?: FakeAgents }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    o.agents?.close();
    await o.store.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

/** Two nodes, a pod on each, fake agents answering for both. */
async function cluster(): Promise<{ spec: string; store: Store; agents: FakeAgents }> {
  const dir = mkdtempSync(join(tmpdir(), "podnet-trace-cli-"));
  const spec = `sqlite:${dir}/cluster.db`;
  const store = await openStore(spec);
  await initClusterConfig(
    store,
    buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
  );
  const lease = await store.grantLease(60);
  for (const [name, ip, block, pod] of [
    ["node1", "192.0.2.11", "10.244.1.0/24", "10.244.1.2"],
    ["node2", "192.0.2.12", "10.244.2.0/24", "10.244.2.2"],
  ] as const) {
    await store.put(`/podnet/blocks/${block.replace("/", "-")}`, JSON.stringify({ node: name, block }), {
      lease: lease.id,
    });
    await announceNode(
      store,
      { name, nodeIPs: [ip], blocks: [block], backend: "auto", vtepMac: "02:00:00:00:00:01" },
      lease.id,
    );
    await putPodRecord(store, {
      namespace: "default",
      name: `${name}-a`,
      node: name,
      ips: [pod],
      labels: {},
    });
  }
  const agents = await FakeAgents.start(store, { node1: "answer", node2: "answer" });
  opened.push({ dir, store, agents });
  return { spec, store, agents };
}

function capture() {
  const out: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: () => {} }, out };
}

const parse = (a: readonly string[]) => parseArgs(a, TRACE_SWITCHES);

describe("podnet trace", () => {
  test("--json: a completed trace of the documented schema, probed through the agents; nothing left behind", async () => {
    const { spec, store, agents } = await cluster();
    const { io, out } = capture();
    const code = await traceCommand(
      ["default/node1-a", "default/node2-a:8080", "--datastore", spec, "--json", "--timeout-ms", "3000"],
      parse,
      io,
    );
    expect(code).toBe(0);
    const report = JSON.parse(out.join("\n"));
    expect(report.schema).toBe("podnet.trace/v1");
    const request = agents.requests[0];
    expect(request?.kind).toBe("trace");
    expect(request?.trace?.proto).toBe("tcp");
    expect(request?.trace?.destination).toEqual({ ip: "10.244.2.2", port: 8080 });
    const sport = request?.trace?.sourcePort ?? 0;
    expect(sport >= 20000 && sport <= 29999).toBe(true);
    expect(agents.seen).toEqual(["go", "probe"]);
    expect((await store.list(DIAGNOSIS_PREFIX)).kvs).toEqual([]);
  });

  test("--no-probe: predicted only, nothing armed or sent (text)", async () => {
    const { spec, agents } = await cluster();
    const { io, out } = capture();
    expect(await traceCommand(["node1-a", "node2-a", "--datastore", spec, "--no-probe"], parse, io)).toBe(0);
    expect(agents.requests.map((r) => r.kind)).toEqual(["facts"]);
    expect(agents.seen).toEqual([]);
    expect(out.join("\n")).toContain("10.244.2.2");
  });

  test("a source outside the cluster is refused: no agent can send from it", async () => {
    const { spec, agents } = await cluster();
    const { io } = capture();
    await expect(
      traceCommand(["203.0.113.100", "192.0.2.11", "--datastore", spec], parse, io),
    ).rejects.toBeInstanceOf(TraceSourceError);
    expect(agents.requests).toEqual([]);
  });

  test("unknown names and malformed command lines", async () => {
    const { spec } = await cluster();
    const { io } = capture();
    await expect(
      traceCommand(["default/nobody", "node2", "--datastore", spec], parse, io),
    ).rejects.toBeInstanceOf(TargetError);
    await expect(traceCommand(["node1-a", "--datastore", spec], parse, io)).rejects.toBeInstanceOf(
      UsageError,
    );
  });
});
