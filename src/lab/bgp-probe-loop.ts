/** Echo probes between two pods at a steady rate while something happens (bgp-restart-check.ts). */
import type { LabState } from "./lab-state.ts";
import type { PodView } from "./probe.ts";
import { probeFrom } from "./probe.ts";

const PROBE_EVERY_MS = 200;

export interface ProbeLoop {
  stop(): Promise<{ probes: number; probeSpanMs: number; failures: string[] }>;
}

/**
 * Starts a probe of `to` from `from` every 200 ms until stopped, whatever the earlier ones are
 * doing (one takes longer than that on a loaded machine: it is a process in the pod's namespace),
 * at most 5 at a time.
 */
export function probeLoop(
  state: LabState,
  from: PodView,
  toIp: string,
  to: string,
  started: number,
): ProbeLoop {
  let running = true;
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const all: Promise<void>[] = [];
  const probe = async (at: number) => {
    const outcome = await probeFrom(state, from.netns, toIp);
    if (outcome.kind === "error") failures.push(`at ${at} ms: ${outcome.message}`);
    else if (outcome.probe.reply.pod !== to)
      failures.push(`at ${at} ms: answered by ${outcome.probe.reply.pod}`);
  };
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      if (inFlight.size < 5) {
        const p = probe(Math.round(t - started)).finally(() => inFlight.delete(p));
        inFlight.add(p);
        all.push(p);
      }
      await Bun.sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - t)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(all);
      return { probes: all.length, probeSpanMs: Math.round(performance.now() - started), failures };
    },
  };
}
