import { afterEach, describe, expect, test } from "bun:test";
import { twoNodeCluster } from "../../test/support/two-node-cluster.ts";
import { DIAGNOSIS_PREFIX } from "../cluster/diagnosis-protocol.ts";
import { TargetError } from "../diagnosis/target.ts";
import type { PodRecord } from "../k8s/service-model.ts";
import { parseArgs, UsageError } from "./args.ts";
import { TRACE_SWITCHES } from "./diagnosis-args.ts";
import { TraceSourceError, traceCommand } from "./trace.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

/** A pod on each node: default/node1-a (10.244.1.2) and default/node2-a (10.244.2.2). */
const PODS: PodRecord[] = [1, 2].map((n) => ({
  namespace: "default",
  name: `node${n}-a`,
  node: `node${n}`,
  ips: [`10.244.${n}.2`],
  labels: {},
}));

/** Two nodes, a pod on each, fake agents answering for both. */
const cluster = () => twoNodeCluster(cleanup, { node1: "answer", node2: "answer" }, PODS);

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
