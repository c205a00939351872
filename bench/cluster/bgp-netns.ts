/**
 * What the BGP part does to its namespaces (I/O): `ip` in a namespace, the routes BIRD installed,
 * the pid of a node's BIRD, and proof that the route monitors listen before the clock starts.
 */
import { readFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchAgent } from "./bench-agent.ts";
import type { RouteMonitor } from "./route-monitor.ts";

/** BIRD's kernel protocol installs its routes as protocol 12, which iproute2 prints as "bird". */
export const BIRD_PROTO = "bird";
const PROBE = { dst: "198.18.0.1", proto: "201" } as const;
const EVERY_100_MS = { intervalMs: 100 } as const;

export async function ipIn(netns: string, args: readonly string[]): Promise<string> {
  const r = await run(inNetns(netns, ["ip", ...args]), { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} in ${netns} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function birdRouteCount(netns: string): Promise<number> {
  const out = await ipIn(netns, ["-4", "route", "show", "proto", BIRD_PROTO]);
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

export function birdPidOf(agent: BenchAgent): number | undefined {
  try {
    const pid = Number(readFileSync(`${agent.stateDir}/bgp/bird.pid`, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    // Only the BIRD of this agent (its control socket on the command line): a pid reused by
    // another program, or another node's BIRD, is left alone.
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const ctl = argv[argv.indexOf("-s") + 1];
    return (argv[0] ?? "").endsWith("bird") && ctl === `${agent.stateDir}/bgp/bird.ctl` ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Resolves once every monitor has reported a probe route (protocol 201, a benchmarking-range
 * address no agent manages) added in its namespace: a monitor started under load may subscribe
 * late, so the probe is added again, every half second, where it has not been seen yet.
 */
export async function proveListening(monitors: readonly RouteMonitor[]): Promise<void> {
  const since = Date.now() - 1;
  const seen = (m: RouteMonitor) => m.firstAdd(PROBE.dst, PROBE.proto, since) !== undefined;
  const probe = ["blackhole", PROBE.dst, "proto", PROBE.proto];
  for (let attempt = 0; attempt < 40 && !monitors.every(seen); attempt++) {
    await Promise.all(
      monitors
        .filter((m) => !seen(m))
        .map(async (m) => {
          await run(inNetns(m.netns, ["ip", "route", "del", ...probe]), { timeoutMs: 10_000 });
          await ipIn(m.netns, ["route", "add", ...probe]);
        }),
    );
    await pollUntil(
      "the route monitors to report the probe route",
      () => monitors.every(seen),
      500,
      EVERY_100_MS,
    ).catch(() => undefined);
  }
  await Promise.all(
    monitors.map((m) => run(inNetns(m.netns, ["ip", "route", "del", ...probe]), { timeoutMs: 10_000 })),
  );
  const deaf = monitors.filter((m) => !seen(m)).map((m) => m.netns);
  if (deaf.length > 0)
    throw new Error(`the route monitors of ${deaf.join(", ")} never reported the probe route`);
}
