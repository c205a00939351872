/**
 * `npm run bench:diagnosis`: how long `podnet explain` and a verified `podnet trace` take on the
 * 3-node lab, each next to its anchor in the same run — the facts explain gives, gathered by a
 * script the way a person would, and the bare connection trace verifies — in a lab of its own
 * (PODNET_LAB_ROOT in a temporary directory), taken down at the end, after a failure and on
 * Ctrl-C. See bench/README.md for what is measured and how. Progress goes to stderr; the table and
 * the JSON report go to stdout.
 */
import { flag } from "../../src/cli/args.ts";
import { DEMO_SERVICE } from "../../src/lab/lab-services.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { intFlag, listFlag, progress, publishReport, runBench } from "../support/bench-cli.ts";
import { podnetUnderTest, runnerArgs, startRun } from "../support/bench-run.ts";
import { preflight } from "../support/preflight.ts";
import { BenchLab } from "./bench-lab.ts";
import { anchorSteps } from "./diagnosis-commands.ts";
import type { ExplainSamples } from "./explain-bench.ts";
import { measureExplain } from "./explain-bench.ts";
import type { LabInfo, RawResults } from "./report.ts";
import { buildReport, PARTS } from "./report.ts";
import type { DiagnosisSubjects } from "./subjects.ts";
import { diagnosisSubjects } from "./subjects.ts";
import { renderTable } from "./table.ts";
import type { TraceSamples } from "./trace-bench.ts";
import { measureTrace } from "./trace-bench.ts";

const USAGE = `usage: bun bench/diagnosis/run.ts [options]   (as root)
  --parts LIST        what to measure (default explain,trace)
  --explain-rounds N  rounds of explain (4 addresses) and its anchor (default 20)
  --trace-rounds N    rounds of verified trace, --no-probe trace and probe (3 destinations) (default 10)
  --warmup N          unmeasured rounds before each part (default 1)
  --json FILE         also write the JSON report to FILE
  --podnet PATH       podnet executable (default dist/podnet, built when missing)
  --build             rebuild dist/podnet first`;

/** The demo Service's ClusterIP, read the way an operator would: `podnet service show`. */
async function demoClusterIP(exe: string, netns: string, datastore: string): Promise<string> {
  const r = await run(
    inNetns(netns, [exe, "service", "show", DEMO_SERVICE, "--datastore", datastore, "--json"]),
    { timeoutMs: 30_000 },
  );
  if (r.code !== 0) throw new Error(`service show ${DEMO_SERVICE} exited with ${r.code}: ${r.stderr.trim()}`);
  const first = (JSON.parse(r.stdout) as { clusterIPs?: unknown }).clusterIPs;
  const ip = Array.isArray(first) ? first[0] : undefined;
  if (typeof ip !== "string") throw new Error(`${DEMO_SERVICE} has no ClusterIP`);
  return ip;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = runnerArgs(argv, USAGE, {
    values: ["parts", "explain-rounds", "trace-rounds", "warmup", "podnet"],
    booleans: ["build"],
  });
  if (args === undefined) return 0;
  const options = {
    parts: listFlag(args, "parts", PARTS, PARTS),
    explainRounds: intFlag(args, "explain-rounds", 20, 1, 1000),
    traceRounds: intFlag(args, "trace-rounds", 10, 1, 1000),
    warmup: intFlag(args, "warmup", 1, 0, 10),
  };
  const jsonFile = flag(args, "json");
  preflight("diagnosis benchmark", [
    { program: "ip", what: "iproute2" },
    { program: "bridge", what: "iproute2's bridge (the anchor reads the VXLAN FDB)" },
    { program: "nft", what: "nftables (the service proxy, and the anchor reads its table)" },
    { program: "conntrack", what: "conntrack (Debian package conntrack; trace and the anchor read flows)" },
  ]);
  const podnet = podnetUnderTest(args);
  const exe = podnet.binary;
  const bench = startRun();
  const { fail } = bench;

  const lab = new BenchLab(exe);
  let labInfo: LabInfo | undefined;
  let subjects: DiagnosisSubjects | undefined;
  let explain: ExplainSamples | undefined;
  let trace: TraceSamples | undefined;
  try {
    progress(`lab up under ${lab.root}`);
    const upStarted = performance.now();
    const state = await lab.up();
    const upSeconds = (performance.now() - upStarted) / 1000;
    const node1 = state.nodes[0];
    if (!node1) throw new Error("the lab has no nodes");
    // diagnosisSubjects validates it (parseIP) before it reaches a command line.
    subjects = diagnosisSubjects(state, await demoClusterIP(exe, node1.netns, state.datastore));
    labInfo = {
      id: state.id,
      backend: state.backend,
      nodes: state.nodes.length,
      pods: state.pods.length,
      datastore: state.datastore,
      upSeconds,
      askingNetns: subjects.askingNetns,
      source: subjects.source.ref,
    };
    progress(`lab ${state.id} up in ${upSeconds.toFixed(1)} s`);
    if (options.parts.includes("explain"))
      explain = await measureExplain(
        exe,
        subjects,
        { rounds: options.explainRounds, warmup: options.warmup },
        fail,
        progress,
      );
    if (options.parts.includes("trace"))
      trace = await measureTrace(
        exe,
        subjects,
        { rounds: options.traceRounds, warmup: options.warmup },
        fail,
        progress,
      );
  } catch (e) {
    fail(`diagnosis benchmark: ${(e as Error).message}`);
  } finally {
    progress("lab down");
    for (const problem of lab.downNow()) fail(problem);
  }

  const raw: RawResults = {
    ...bench.header(),
    podnet: podnet.build(),
    options,
    ...(labInfo ? { lab: labInfo } : {}),
    ...(subjects
      ? {
          subjects: { explain: subjects.explain, trace: subjects.trace },
          anchorCommands: anchorSteps(exe, subjects).length,
        }
      : {}),
    ...(explain ? { explain } : {}),
    ...(trace ? { trace } : {}),
    failures: bench.failures,
  };
  const report = buildReport(raw);
  return publishReport(renderTable(report), report, jsonFile);
}

await runBench("bench:diagnosis", USAGE, main);
