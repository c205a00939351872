import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initClusterConfig } from "../cluster/cluster-config-store.ts";
import { DIAGNOSIS_PREFIX } from "../cluster/diagnosis-protocol.ts";
import { announceNode } from "../cluster/node-registry.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import { ExplainQueryError } from "../diagnosis/explain.ts";
import { FakeAgents, type FakeBehaviour } from "../diagnosis/fake-agents.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { parseArgs } from "./args.ts";
import { EXPLAIN_SWITCHES } from "./diagnosis-args.ts";
import { explainCommand } from "./explain.ts";

const opened: { dir: string; store: Store; agents?: FakeAgents }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    o.agents?.close();
    await o.store.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

/** A two-node cluster in a SQLite file, with fake agents answering for the nodes. */
async function cluster(behaviour: Record<string, FakeBehaviour>): Promise<{ spec: string; store: Store }> {
  const dir = mkdtempSync(join(tmpdir(), "podnet-explain-cli-"));
  const spec = `sqlite:${dir}/cluster.db`;
  const store = await openStore(spec);
  const entry: (typeof opened)[number] = { dir, store };
  opened.push(entry);
  await initClusterConfig(
    store,
    buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
  );
  const lease = await store.grantLease(60);
  for (const [name, ip, block] of [
    ["node1", "192.0.2.11", "10.244.1.0/24"],
    ["node2", "192.0.2.12", "10.244.2.0/24"],
  ] as const) {
    await store.put(`/podnet/blocks/${block.replace("/", "-")}`, JSON.stringify({ node: name, block }), {
      lease: lease.id,
    });
    await announceNode(
      store,
      { name, nodeIPs: [ip], blocks: [block], backend: "auto", vtepMac: "02:00:00:00:00:01" },
      lease.id,
    );
  }
  await putPodRecord(store, {
    namespace: "default",
    name: "web",
    node: "node1",
    ips: ["10.244.1.2"],
    labels: {},
  });
  entry.agents = await FakeAgents.start(store, behaviour);
  return { spec, store };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const parse = (a: readonly string[]) => parseArgs(a, EXPLAIN_SWITCHES);

describe("podnet explain", () => {
  test("--json: the documented schema, the address, every node's answer; nothing left in the datastore", async () => {
    const { spec, store } = await cluster({ node1: "answer", node2: "answer" });
    const { io, out } = capture();
    expect(await explainCommand(["10.244.1.2", "--datastore", spec, "--json"], parse, io)).toBe(0);
    const e = JSON.parse(out.join("\n"));
    expect(e.schema).toBe("podnet.explain/v1");
    expect(e.query.ip).toBe("10.244.1.2");
    expect(e.kinds).toContain("pod");
    expect([...e.nodes].sort()).toEqual(["node1", "node2"]);
    expect(e.missing).toEqual([]);
    expect((await store.list(DIAGNOSIS_PREFIX)).kvs).toEqual([]);
  });

  test("a node whose agent does not answer is named, and the address is still explained (text)", async () => {
    const { spec } = await cluster({ node1: "answer", node2: "silent" });
    const { io, out } = capture();
    const code = await explainCommand(["10.244.1.2", "--datastore", spec, "--timeout-ms", "300"], parse, io);
    expect(code).toBe(0);
    const text = out.join("\n");
    expect(text).toContain("10.244.1.2");
    expect(text).toContain("node2");
  });

  test("something that is no address fails before the datastore is opened, naming it", async () => {
    const { io } = capture();
    const run = explainCommand(["not-an-ip", "--datastore", "sqlite:/nonexistent/dir/x.db"], parse, io);
    await expect(run).rejects.toBeInstanceOf(ExplainQueryError);
    await expect(
      explainCommand(["not-an-ip", "--datastore", "sqlite:/nonexistent/dir/x.db"], parse, io),
    ).rejects.toThrow(/not-an-ip/);
  });
});
