/**
 * Fixed costs inside every latency figure, measured in turns (the order rotating each sample):
 * - the launcher: `ip netns exec NODE /bin/true`, through which CniRuntime starts every plugin;
 * - start-up: a VERSION call, where the plugin starts, answers and exits without touching the
 *   kernel or its state, i.e. what one invocation costs before it does any work;
 * - the floor: VERSION of a trivial compiled Bun program (floor.ts) through the same launcher,
 *   what any Bun executable costs; podnet's VERSION less it is what podnet's own code costs.
 */
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { Subjects } from "./latency.ts";
import { roundOrder } from "./latency.ts";
import type { SubjectKey } from "./subjects.ts";

export interface Baselines {
  readonly launcherMs: number[];
  readonly versionMs: Record<SubjectKey, number[]>;
  readonly floorVersionMs: number[];
}

async function timed(argv: readonly string[], what: string): Promise<number> {
  const start = performance.now();
  const r = await run(argv, { stdin: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: "VERSION" } });
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return performance.now() - start;
}

export async function measureBaselines(
  subjects: Subjects,
  floorExe: string,
  samples: number,
): Promise<Baselines> {
  const launcherMs: number[] = [];
  const floorVersionMs: number[] = [];
  const versionMs: Record<SubjectKey, number[]> = { podnet: [], agent: [], reference: [] };
  const floorNetns = subjects.podnet.nodeNetns;
  for (let i = 0; i < samples; i++) {
    const order = roundOrder(i);
    // The floor takes every place in the order in turn, like the subjects.
    const turns: (SubjectKey | "floor")[] = [...order];
    turns.splice(i % (order.length + 1), 0, "floor");
    for (const turn of turns) {
      if (turn === "floor") {
        floorVersionMs.push(await timed(inNetns(floorNetns, [floorExe]), "the floor program's VERSION"));
        continue;
      }
      const subject = subjects[turn];
      launcherMs.push(
        await timed(inNetns(subject.nodeNetns, ["/bin/true"]), `ip netns exec ${subject.nodeNetns}`),
      );
      const start = performance.now();
      // CniRuntime throws on a non-zero exit, so a returned call is a successful VERSION.
      await subject.runtime.exec(subject.pluginType, "VERSION", subject.addConfig());
      versionMs[turn].push(performance.now() - start);
    }
  }
  return { launcherMs, versionMs, floorVersionMs };
}
