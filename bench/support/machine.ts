/** The machine a benchmark ran on, as its report describes it: what to compare the figures across. */
import { cpus, loadavg, release, totalmem } from "node:os";
import { progress } from "./bench-cli.ts";

export interface Machine {
  readonly cpus: number;
  readonly kernel: string;
  readonly bun: string;
  readonly memoryGiB: number;
  /** 1-minute load average when the run started and when it ended: other work skews every figure. */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

/** The 1-minute load average now, with a warning on stderr when other work will make the figures noisy. */
export function loadAtStart(): number {
  const load = loadavg()[0] ?? 0;
  if (load > 0.5 * cpus().length)
    progress(
      `warning: load average ${load.toFixed(2)} on ${cpus().length} CPUs: other work is running, the figures will be noisy`,
    );
  return load;
}

/** The machine at the end of a run that started at load `start`. */
export function describeMachine(start: number): Machine {
  return {
    cpus: cpus().length,
    kernel: release(),
    bun: Bun.version,
    memoryGiB: totalmem() / 2 ** 30,
    loadAverage: { start, end: loadavg()[0] ?? 0 },
  };
}
