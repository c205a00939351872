import { describe, expect, test } from "bun:test";
import { Metrics } from "../daemon/metrics.ts";
import { diagnosisMetrics, requestKind } from "./diagnosis-metrics.ts";

describe("diagnosis metrics", () => {
  test("every kind and result is exported at 0 before the first request", async () => {
    const metrics = new Metrics();
    const m = diagnosisMetrics(metrics);
    m.requests.inc({ kind: "trace", result: "observed" });
    const text = await metrics.render();
    expect(text).toContain('podnet_diagnosis_requests_total{kind="facts",result="aborted"} 0');
    expect(text).toContain('podnet_diagnosis_requests_total{kind="trace",result="invalid"} 0');
    expect(text).toContain('podnet_diagnosis_requests_total{kind="trace",result="observed"} 1');
  });

  test("an unparseable request counts as a trace only when it says so", () => {
    expect(requestKind('{"kind":"trace","addresses":["not-an-address"]}')).toBe("trace");
    expect(requestKind('{"kind":"facts"}')).toBe("facts");
    expect(requestKind('{"kind":"reboot"}')).toBe("facts");
    expect(requestKind("[1,2]")).toBe("facts");
    expect(requestKind("not json")).toBe("facts");
  });
});
