/**
 * `npm run bench:cni`: podnet's CNI plugin, on its own and with its node agent running, against
 * the reference bridge + host-local, in network namespaces this run creates and removes. See bench/README.md for what is measured and how to
 * read the figures. Progress goes to stderr; the table and the JSON report go to stdout.
 */
import { statSync } from "node:fs";
import { cpus, release } from "node:os";
import { flag } from "../../src/cli/args.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import {
  elapsedSeconds,
  failureRecorder,
  intFlag,
  progress,
  publishReport,
  runBench,
} from "../support/bench-cli.ts";
import { podnetUnderTest, runnerArgs } from "../support/bench-run.ts";
import { preflight } from "../support/preflight.ts";
import { BenchSandbox } from "../support/sandbox.ts";
import { startAgentNode } from "./agent-node.ts";
import { measureBaselines } from "./baseline.ts";
import { buildFloor } from "./floor.ts";
import type { Subjects } from "./latency.ts";
import { measureLatency } from "./latency.ts";
import type { GnuTimeStatus } from "./memory.ts";
import { calibrate, ensureGnuTime, measureMemory } from "./memory.ts";
import type { RawResults } from "./report.ts";
import { buildReport } from "./report.ts";
import { cniBenchNeeds, DEFAULT_REFERENCE_DIR, referenceVersion } from "./setup.ts";
import { agentSpec, CNI_VERSION, podnetSpec, referenceSpec, SUBJECTS, Subject } from "./subjects.ts";
import { renderTable } from "./table.ts";
import { measureThroughput } from "./throughput.ts";
import { verifyAttachment } from "./verify.ts";

const USAGE = `usage: bun bench/cni/run.ts [options]   (as root)
  --pods N               serial ADD/DEL latency over N pods per plugin (default 100)
  --batch N              pods per latency round, subjects in rotating order (default 25)
  --throughput-pods N    pods ADDed then DELed concurrently per round (default 200)
  --concurrency N        operations in flight during throughput rounds (default 8)
  --throughput-rounds N  throughput rounds per plugin, in rotating order (default 2)
  --memory-samples N     ADDs per plugin measured for peak RSS (default 5)
  --warmup N             unmeasured ADD+DEL per plugin first (default 3)
  --json FILE            also write the JSON report to FILE
  --podnet PATH          podnet CLI (default dist/podnet, built when missing); install-cni installs
                         the plugin executable beside it (podnet-cni) for both podnet subjects
  --build                rebuild dist/podnet first
  --reference-dir DIR    reference plugins (default /usr/lib/cni)`;

const BASELINE_SAMPLES = 30;

async function warmUp(subjects: Subjects, rounds: number): Promise<void> {
  for (const key of SUBJECTS) {
    const subject = subjects[key];
    // The first ADD also creates the bridge; at least one runs so the attachment can be verified.
    for (let i = 0; i < Math.max(1, rounds); i++) {
      const pod = subject.createPod("w");
      try {
        const add = await subject.add(pod);
        if (!add.ok) throw new Error(`warm-up failed: ${add.error}`);
        if (i === 0) verifyAttachment(subject, pod, add.output);
        const del = await subject.del(pod, add.output);
        if (!del.ok) throw new Error(`warm-up failed: ${del.error}`);
      } finally {
        subject.deletePod(pod);
      }
    }
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const args = runnerArgs(argv, USAGE, {
    values: [
      "pods",
      "batch",
      "throughput-pods",
      "concurrency",
      "throughput-rounds",
      "memory-samples",
      "warmup",
      "podnet",
      "reference-dir",
    ],
    booleans: ["build"],
  });
  if (args === undefined) return 0;
  const options: RawResults["options"] = {
    pods: intFlag(args, "pods", 100, 1),
    batch: intFlag(args, "batch", 25, 1),
    warmup: intFlag(args, "warmup", 3, 1),
    throughputPods: intFlag(args, "throughput-pods", 200, 1),
    concurrency: intFlag(args, "concurrency", 8, 1),
    throughputRounds: intFlag(args, "throughput-rounds", 2, 1),
    memorySamples: intFlag(args, "memory-samples", 5, 1),
  };
  const jsonFile = flag(args, "json");
  const referenceDir = flag(args, "reference-dir") ?? DEFAULT_REFERENCE_DIR;
  preflight("CNI benchmark", cniBenchNeeds(referenceDir));
  const podnet = podnetUnderTest(args);
  const podnetExe = podnet.binary;
  const gnuTime: GnuTimeStatus = ensureGnuTime(progress);

  const startedAt = new Date().toISOString();
  const { failures, fail } = failureRecorder();

  const sandbox = new BenchSandbox("pb");
  try {
    const binDir = `${sandbox.dir}/bin`;
    mustRunSync([podnetExe, "install-cni", "--bin-dir", binDir]);
    const floorExe = buildFloor(sandbox.dir);
    const agentNode = await startAgentNode(sandbox, podnetExe);
    progress(`node agent ready in ${agentNode.netns} (pid ${agentNode.agent.pid})`);
    const specs = {
      podnet: podnetSpec(podnetExe, binDir, `${sandbox.dir}/podnet-state`),
      agent: agentSpec(agentNode.agent.conflist(), binDir),
      reference: referenceSpec(referenceDir, `${sandbox.dir}/host-local-state`),
    };
    const subjects: Subjects = {
      podnet: new Subject(specs.podnet, sandbox.createNetns("node-p").name, sandbox),
      agent: new Subject(specs.agent, agentNode.netns, sandbox),
      reference: new Subject(specs.reference, sandbox.createNetns("node-r").name, sandbox),
    };
    progress(
      `node namespaces ${SUBJECTS.map((k) => subjects[k].nodeNetns).join(", ")}; state in ${sandbox.dir}`,
    );

    await warmUp(subjects, options.warmup);
    progress("warm-up done; every subject attached a pod (address, bridge port, hairpin verified)");
    const baselines = await measureBaselines(subjects, floorExe, BASELINE_SAMPLES);
    const latency = await measureLatency(subjects, options, fail, progress);
    const throughput = await measureThroughput(
      subjects,
      { pods: options.throughputPods, concurrency: options.concurrency, rounds: options.throughputRounds },
      fail,
      progress,
    );
    const timeFile = `${sandbox.dir}/time.out`;
    const calibration = await calibrate(timeFile, gnuTime);
    const memory: RawResults["memory"] = gnuTime.available
      ? {
          method: "gnu-time",
          calibration,
          ...(await measureMemory(
            subjects,
            floorExe,
            options.memorySamples,
            gnuTime.path,
            timeFile,
            fail,
            progress,
          )),
        }
      : { method: "none", reason: gnuTime.reason, calibration };
    const agentMemory = agentNode.agent.memory();
    const installed = `${binDir}/podnet`;

    const report = buildReport({
      startedAt,
      durationSeconds: elapsedSeconds(),
      machine: { cpus: cpus().length, kernel: release(), bun: Bun.version },
      subjects: {
        podnet: {
          description: `the plugin alone, ${podnet.version} (bridge mode, podnet-ipam built in; no agent on the node)`,
          binary: installed,
          binaryModified: statSync(installed).mtime.toISOString(),
          conflist: specs.podnet.conflist,
        },
        agent: {
          description:
            "the same plugin with the node agent running (the conflist the agent wrote; the agent does the work)",
          binary: installed,
          binaryModified: statSync(installed).mtime.toISOString(),
          conflist: specs.agent.conflist,
        },
        reference: {
          description: `bridge + host-local (${referenceVersion(referenceDir)})`,
          binary: `${referenceDir}/bridge`,
          binaryModified: statSync(`${referenceDir}/bridge`).mtime.toISOString(),
          conflist: specs.reference.conflist,
        },
      },
      cniVersion: CNI_VERSION,
      options,
      baselines,
      latency,
      throughput,
      memory,
      agentMemoryKiB: agentMemory ? { rss: agentMemory.rssKiB, peak: agentMemory.peakRssKiB } : undefined,
      failures,
    });
    return publishReport(renderTable(report), report, jsonFile);
  } finally {
    await sandbox.close();
  }
}

await runBench("bench:cni", USAGE, main);
