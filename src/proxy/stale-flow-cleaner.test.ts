import { describe, expect, test } from "bun:test";
import type { Logger } from "../daemon/log.ts";
import type { Service } from "../k8s/service-model.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import { RecordingKernel } from "./recording-kernel.ts";
import { StaleFlowCleaner } from "./stale-flow-cleaner.ts";

const dns: Service = {
  namespace: "default",
  name: "dns",
  clusterIPs: ["10.96.0.10"],
  ports: [{ protocol: "UDP", port: 53, targetPort: 53 }],
  sessionAffinity: { kind: "None" },
  selector: { app: "dns" },
};
const entry = (...ips: string[]): ServiceEntry => ({
  service: dns,
  endpoints: ips.map((ip) => ({ ip, node: "node-1", pod: `default/dns-${ip}` })),
});
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function cleaner() {
  const kernel = new RecordingKernel();
  return { kernel, c: new StaleFlowCleaner(kernel, quiet, { error: () => {}, deleted: () => {} }) };
}

describe("StaleFlowCleaner", () => {
  test("the changes of failed syncs count from what the kernel had to what it has now", async () => {
    const { kernel, c } = cleaner();
    const a = entry("10.244.1.5", "10.244.1.6");
    const b = entry("10.244.1.6");
    await c.clean([["default/dns", undefined, a]]);
    // Two syncs fail: .5 leaves, then comes back; then .6 leaves and the sync works.
    c.defer([["default/dns", a, b]]);
    c.defer([["default/dns", b, a]]);
    await c.clean([["default/dns", a, entry("10.244.1.5")]]);
    // .5 is an endpoint again: its flows stay. Only .6's go, once.
    expect(kernel.flowDeletions).toEqual([
      { family: 4, clusterIP: "10.96.0.10", port: 53, endpoint: "10.244.1.6" },
    ]);
  });

  test("after the first sync, a UDP port that gets its first endpoint has its untranslated flows deleted", async () => {
    const { kernel, c } = cleaner();
    await c.clean([["default/dns", undefined, entry()]]);
    expect(kernel.flowDeletions).toEqual([]);
    await c.clean([["default/dns", entry(), entry("10.244.1.5")]]);
    expect(kernel.flowDeletions).toEqual([
      { family: 4, clusterIP: "10.96.0.10", port: 53, endpoint: undefined },
    ]);
  });
});
