/**
 * The podnet CLI against the lab in a test's own lab root, and the lab's explain and trace as
 * their JSON answers (a non-zero exit becomes an error carrying stderr); a lab for one test file.
 */
import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Explanation } from "../../src/diagnosis/explanation.ts";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import type { LabState } from "../../src/lab/lab-state.ts";
import { runSync } from "../../src/linux/exec.ts";
import { ensurePodnetBuilt, PODNET } from "../../testkit/podnet-build.ts";

/** `root` is read at each call: tests create their lab root in beforeAll. */
export function labCommands(root: () => string) {
  const podnet = (...args: string[]) =>
    runSync([PODNET, ...args], { env: { PODNET_LAB_ROOT: root() }, timeoutMs: 300_000 });
  const labJson = <T>(...args: string[]): T => {
    const r = podnet("lab", ...args, "--json");
    if (r.code !== 0) throw new Error(`podnet lab ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  };
  return {
    podnet,
    labJson,
    explain: (what: string) => labJson<Explanation>("explain", what),
    trace: (from: string, to: string) => labJson<TraceReport>("trace", from, to),
  };
}

/**
 * A lab for the test file: built podnet, `lab up UP_ARGS` in a fresh root under the temp
 * directory (podnet-NAME-test-…) before its tests; `lab down` and the root removed after them.
 */
export function useLab(name: string, upArgs: readonly string[]) {
  let root = "";
  let state: LabState | undefined;
  const commands = labCommands(() => root);
  beforeAll(() => {
    ensurePodnetBuilt();
    root = mkdtempSync(`${tmpdir()}/podnet-${name}-test-`);
    const up = commands.podnet("lab", "up", ...upArgs);
    if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
    state = JSON.parse(readFileSync(`${root}/state.json`, "utf8")) as LabState;
  }, 180_000);
  afterAll(() => {
    // No lab root, no lab: `lab down` must not fall back to the default root.
    if (root === "") return;
    commands.podnet("lab", "down");
    rmSync(root, { recursive: true, force: true });
  });
  return {
    ...commands,
    /** The lab's state.json, read after `lab up`. */
    state: (): LabState => {
      if (!state) throw new Error(`the ${name} lab is not up`);
      return state;
    },
  };
}

/** The forward hops of the path a trace's verdict names (its first path when none). */
export function forwardHops(report: TraceReport) {
  const path = report.prediction.paths[report.verdict.path] ?? report.prediction.paths[0];
  return path?.forward ?? [];
}
