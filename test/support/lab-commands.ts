/**
 * The podnet CLI against the lab in a test's own lab root, and the lab's explain and trace as
 * their JSON answers (a non-zero exit becomes an error carrying stderr).
 */
import type { Explanation } from "../../src/diagnosis/explanation.ts";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import { runSync } from "../../src/linux/exec.ts";
import { PODNET } from "../../testkit/podnet-build.ts";

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
