/**
 * `podnet ui`'s server on a real cluster (harness/ui-server-cluster.ts): /api/explain and
 * /api/trace answer as `podnet explain` and `podnet trace` do — a trace with a probe only for the
 * page's own (same-origin) fetch — and a source that is no pod is a 400.
 */
import { describe, expect, test } from "bun:test";
import type { Explanation } from "../../src/diagnosis/explanation.ts";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import { useUiServerCluster } from "./harness/ui-server-cluster.ts";

describe("podnet ui's server on a real cluster: explain and trace", () => {
  const ui = useUiServerCluster();

  test("three agents, a pod on each, a Service, and the server", async () => {
    const { server } = await ui.start();
    expect(server.token).toBeUndefined();
  }, 120_000);

  test("/api/explain and /api/trace answer as the commands do", async () => {
    const { pods, server, api } = ui.get();
    const pod1 = pods.get("node1");
    const pod3 = pods.get("node3");
    if (!pod1 || !pod3) throw new Error("no pods");
    const e = (await (await api(`/api/explain?address=${pod3.ip}`)).json()) as Explanation;
    expect(e.schema).toBe("podnet.explain/v1");
    expect(e.kinds).toContain("pod");
    const plain = await fetch(
      `http://127.0.0.1:${server.port}/api/trace?source=${pod1.name}&destination=${pod3.ip}:8080`,
    );
    expect(plain.status).toBe(403);
    const trace = await api(`/api/trace?source=${pod1.name}&destination=${pod3.ip}:8080`);
    expect(trace.status).toBe(200);
    const report = (await trace.json()) as TraceReport;
    expect(report.schema).toBe("podnet.trace/v1");
    expect(report.probed).toBe(true);
    expect(report.verdict.status).toBe("agree");
    expect(report.probe?.outcome).toBe("answered");
    const bad = await api("/api/trace?source=nosuchpod&destination=10.244.0.1");
    expect(bad.status).toBe(400);
  }, 60_000);
});
