import { afterEach, describe, expect, test } from "bun:test";
import { twoNodeCluster } from "../../test/support/two-node-cluster.ts";
import { DIAGNOSIS_PREFIX } from "../cluster/diagnosis-protocol.ts";
import { ExplainQueryError } from "../diagnosis/explain.ts";
import type { FakeBehaviour } from "../diagnosis/fake-agents.ts";
import { parseArgs } from "./args.ts";
import { EXPLAIN_SWITCHES } from "./diagnosis-args.ts";
import { explainCommand } from "./explain.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

/** A two-node cluster in a SQLite file (pod default/web on node1), with fake agents answering for the nodes. */
const cluster = (behaviour: Record<string, FakeBehaviour>) => twoNodeCluster(cleanup, behaviour);

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
