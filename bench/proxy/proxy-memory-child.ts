/**
 * The memory measurement's subject, run as its own Bun process so nothing of the benchmark is in
 * its heap: builds the input of SERVICES Services × ENDPOINTS endpoints, renders the ruleset and
 * its full-sync text, then handles one endpoint change as a running proxy does (render with the
 * previous ruleset, diff) and keeps what a proxy keeps between syncs — the input, the current
 * ruleset and the text last applied in full. After a full garbage collection it prints one
 * MemoryResult (JSON): RSS then, and the peak (VmHWM) over its whole life.
 *
 * usage: bun bench/proxy/proxy-memory-child.ts SERVICES ENDPOINTS
 */
import { readFileSync } from "node:fs";
import { diffRulesets, fullSync } from "../../src/proxy/diff.ts";
import { renderRuleset } from "../../src/proxy/ruleset.ts";
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
let ruleset = renderRuleset(input);
const applied = fullSync(ruleset).text;
if (services > 0) {
  input = replaceEndpoint(input, services - 1, 0, services * endpointsPerService);
  const next = renderRuleset(input, ruleset);
  if (diffRulesets(ruleset, next).kind === "none")
    throw new Error("an endpoint change gave an empty transaction");
  ruleset = next;
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
  textMiB: Buffer.byteLength(applied) / MIB,
  workMs,
  problems: ruleset.problems.length,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
