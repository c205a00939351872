/**
 * The memory measurement's subject, run as its own Bun process so nothing of the benchmark is in
 * its heap: builds the input of SERVICES Services × ENDPOINTS endpoints, brings a ProxyState to it
 * (the full-sync text, as the proxy's first sync), then handles one endpoint change as a running
 * proxy does (one update with that Service) and keeps what a proxy keeps between syncs — the input
 * and the state; the text is dropped once applied, as the proxy drops it. After a full garbage
 * collection it prints one MemoryResult (JSON): RSS then, and the peak (VmHWM) over its whole life.
 *
 * usage: bun bench/proxy/proxy-memory-child.ts SERVICES ENDPOINTS
 */
import { readFileSync } from "node:fs";
import { serviceKey } from "../../src/k8s/service-model.ts";
import { planText } from "../../src/proxy/diff.ts";
import { ProxyState } from "../../src/proxy/proxy-state.ts";
import type { MemoryResult } from "./memory-bench.ts";
import { benchInput, replaceEndpoint } from "./service-input.ts";

const MIB = 2 ** 20;

function statusKiB(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  if (!m?.[1]) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]);
}

const services = Number(Bun.argv[2]);
const endpointsPerService = Number(Bun.argv[3]);
if (
  !Number.isInteger(services) ||
  services < 0 ||
  !Number.isInteger(endpointsPerService) ||
  endpointsPerService < 1
) {
  process.stderr.write("usage: bun bench/proxy/proxy-memory-child.ts SERVICES ENDPOINTS\n");
  process.exit(2);
}
Bun.gc(true);
const startRss = process.memoryUsage().rss;
const start = performance.now();
let input = benchInput({ services, endpointsPerService, nodeIP: "198.51.100.1" });
const { services: entries, ...node } = input;
const state = new ProxyState(input.family);
// The full sync's text is kept, as before the plan held content; the content itself is dropped
// as the agent drops it once applied.
const fullText = (() => {
  const first = state.update(
    node,
    entries.map((e) => [serviceKey(e.service), e] as const),
  );
  if (first.kind !== "full") throw new Error(`the first update gave a ${first.kind} sync`);
  return planText(first);
})();
const textBytes = Buffer.byteLength(fullText);
if (services > 0) {
  input = replaceEndpoint(input, services - 1, 0, services * endpointsPerService);
  const changed = input.services[services - 1];
  if (changed === undefined) throw new Error("the changed Service is missing");
  if (state.update(node, [[serviceKey(changed.service), changed]]).kind !== "partial")
    throw new Error("an endpoint change gave no partial sync");
}
const workMs = performance.now() - start;
Bun.gc(true);
const usage = process.memoryUsage();
const result: MemoryResult = {
  services,
  endpointsPerService,
  startRssMiB: startRss / MIB,
  rssMiB: usage.rss / MIB,
  vmRssMiB: statusKiB("VmRSS") / 1024,
  vmHwmMiB: statusKiB("VmHWM") / 1024,
  heapUsedMiB: usage.heapUsed / MIB,
  textMiB: textBytes / MIB,
  workMs,
  problems: state.problems.length,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
