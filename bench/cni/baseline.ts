/**
 * Fixed costs inside every latency figure, measured alternately on both nodes:
 * - the launcher: `ip netns exec NODE /bin/true`, through which CniRuntime starts every plugin;
 * - start-up: a VERSION call, where the plugin starts, answers and exits without touching the
 *   kernel or its state, i.e. what one invocation costs before it does any work.
 */
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { Subjects } from "./latency.ts";
import { roundOrder } from "./latency.ts";
import type { SubjectKey } from "./subjects.ts";

export interface Baselines {
  readonly launcherMs: number[];
  readonly versionMs: Record<SubjectKey, number[]>;
}

export async function measureBaselines(subjects: Subjects, samples: number): Promise<Baselines> {
  const launcherMs: number[] = [];
  const versionMs: Record<SubjectKey, number[]> = { podnet: [], reference: [] };
  for (let i = 0; i < samples; i++) {
    for (const key of roundOrder(i)) {
      const subject = subjects[key];
      let start = performance.now();
      const r = await run(inNetns(subject.nodeNetns, ["/bin/true"]));
      if (r.code !== 0)
        throw new Error(`ip netns exec ${subject.nodeNetns} /bin/true failed: ${r.stderr.trim()}`);
      launcherMs.push(performance.now() - start);
      start = performance.now();
      // CniRuntime throws on a non-zero exit, so a returned call is a successful VERSION.
      await subject.runtime.exec(subject.pluginType, "VERSION", subject.addConfig());
      versionMs[key].push(performance.now() - start);
    }
  }
  return { launcherMs, versionMs };
}
