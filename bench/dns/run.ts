import { readFileSync, writeFileSync } from "node:fs";
import { errorText } from "../../src/base/error-text.ts";
import { flag } from "../../src/cli/args.ts";
import { runSync } from "../../src/linux/exec.ts";
import { intFlag, progress, publishReport, runBench } from "../support/bench-cli.ts";
import { podnetUnderTest, runnerArgs, startRun } from "../support/bench-run.ts";
import { preflight } from "../support/preflight.ts";
import { BenchSandbox } from "../support/sandbox.ts";
import { agentMemory } from "./agent-memory.ts";
import { type AnswerComparison, compareAnswers } from "./answer-check.ts";
import { benchZoneEntries, zoneRecords } from "./bench-zone.ts";
import { dnsmasqFiles } from "./dnsmasq-config.ts";
import { type LoadResults, measureLoad } from "./measure.ts";
import { type ProcessMemory, processMemory } from "./proc-status.ts";
import { queryFileText, queryKey, queryMix } from "./query-mix.ts";
import { type BenchOptions, buildReport, type RawResults, type ServerFacts } from "./report.ts";
import { askServer, type RunningServer, type Subject, startDnsmasq, startPodnet } from "./subjects.ts";
import { renderTable } from "./table.ts";

const USAGE = `usage: bun bench/dns/run.ts [options]   (as root)
  --services N      Services in the zone (default 10000)
  --endpoints N     ready endpoints per Service (default 3)
  --queries N       lines of the query file, drawn with --seed (default 10000)
  --rounds N        rounds of runs, the two servers in turn in each (default 3)
  --seconds N       dnsperf -l of every measured run (default 10)
  --warmup N        seconds of unmeasured closed loop per server first (default 2; 0: none)
  --clients N       dnsperf -c (default 1)
  --outstanding N   dnsperf -q: queries in flight in the closed loop (default 100)
  --rate N          dnsperf -Q of the latency runs (default: half the lower measured capacity)
  --seed N          seed of the query mix (default 1)
  --podnet PATH     the podnet build whose agent's memory is measured, when it serves DNS (default dist/podnet)
  --build           rebuild dist/podnet first
  --json FILE       also write the JSON report to FILE`;

const ADDRESS = "127.0.0.1";
const PODNET_PORT = 5301;
const DNSMASQ_PORT = 5302;
/** Queries of the mix asked of both servers one by one and compared before the timed runs. */
const COMPARED_QUERIES = 300;

function firstLine(argv: readonly string[], pattern: RegExp): string {
  const r = runSync(argv);
  const text = `${r.stdout}\n${r.stderr}`;
  return pattern.exec(text)?.[0]?.trim() ?? `${argv[0]} (version unknown)`;
}

/** The pid is the server's own: `ip netns exec` execs it, and neither server forks. */
function assertServerProcess(server: RunningServer, comm: RegExp): void {
  const actual = readFileSync(`/proc/${server.child.pid}/comm`, "utf8").trim();
  if (!comm.test(actual))
    throw new Error(`pid ${server.child.pid} is "${actual}", not the ${server.subject} server (${comm})`);
}

async function main(argv: readonly string[]): Promise<number> {
  const args = runnerArgs(argv, USAGE, {
    values: [
      "services",
      "endpoints",
      "queries",
      "rounds",
      "seconds",
      "warmup",
      "clients",
      "outstanding",
      "rate",
      "seed",
      "podnet",
    ],
    booleans: ["build"],
  });
  if (args === undefined) return 0;
  const rateText = flag(args, "rate");
  const options: BenchOptions = {
    services: intFlag(args, "services", 10_000, 1, 50_000),
    endpointsPerService: intFlag(args, "endpoints", 3, 1, 20),
    queries: intFlag(args, "queries", 10_000, 1, 1_000_000),
    rounds: intFlag(args, "rounds", 3, 1, 20),
    seconds: intFlag(args, "seconds", 10, 1, 600),
    warmupSeconds: intFlag(args, "warmup", 2, 0, 60),
    clients: intFlag(args, "clients", 1, 1, 64),
    outstanding: intFlag(args, "outstanding", 100, 1, 10_000),
    rate: rateText === undefined ? null : intFlag(args, "rate", 0, 1, 10_000_000),
    seed: intFlag(args, "seed", 1, 0, 2 ** 31 - 1),
  };
  const jsonFile = flag(args, "json");
  preflight("DNS benchmark", [
    { program: "ip", what: "iproute2" },
    {
      program: "dnsperf",
      what: "dnsperf, the load generator (Debian: apt-get install -y --no-install-recommends dnsperf)",
    },
    {
      program: "dnsmasq",
      what: "dnsmasq, the server podnet is compared with (Debian: apt-get install -y --no-install-recommends dnsmasq-base)",
    },
  ]);
  const versions = {
    dnsperf: `dnsperf ${firstLine(["dnsperf", "-h"], /Version \S+/).replace(/^Version /, "")}`,
    dnsmasq: firstLine(["dnsmasq", "--version"], /^Dnsmasq version \S+/m),
  };

  const build = podnetUnderTest(args);
  const bench = startRun();
  const { fail } = bench;
  const sandbox = new BenchSandbox("pbd");
  const servers: Partial<Record<Subject, ServerFacts>> = {};
  try {
    progress(`namespace ${sandbox.prefix}dns, files in ${sandbox.dir}`);
    const { name: netns } = sandbox.createNetns("dns");

    const entries = benchZoneEntries(options.services, options.endpointsPerService);
    const owned = [...zoneRecords(entries)];
    const queries = queryMix(owned, options.queries, options.seed);
    const queryFile = `${sandbox.dir}/queries.txt`;
    writeFileSync(queryFile, queryFileText(queries));
    const kindOf = new Map(queries.map((q) => [queryKey(q), { kind: q.kind, rcode: q.rcode }]));
    const files = dnsmasqFiles(owned, {
      address: ADDRESS,
      port: DNSMASQ_PORT,
      hostsFile: `${sandbox.dir}/dnsmasq.hosts`,
      cacheSize: 10_000,
    });
    progress(`zone: ${options.services} Services, ${owned.length} names; ${queries.length} queries`);

    const podnet = await startPodnet(sandbox, netns, options, ADDRESS, PODNET_PORT);
    assertServerProcess(podnet, /^bun/);
    servers.podnet = {
      startMs: podnet.startMs,
      memoryAtStart: processMemory(podnet.child.pid, "podnet"),
      memoryAtEnd: null,
    };
    progress(`podnet's DNS server answers on ${ADDRESS}:${podnet.port} (${Math.round(podnet.startMs)} ms)`);
    const first = queries.find((q) => q.rcode === "NOERROR");
    const dnsmasq = await startDnsmasq(
      sandbox,
      netns,
      files,
      {
        conf: `${sandbox.dir}/dnsmasq.conf`,
        hosts: `${sandbox.dir}/dnsmasq.hosts`,
        probe: `${sandbox.dir}/probe.txt`,
        log: `${sandbox.dir}/dnsmasq.log`,
      },
      ADDRESS,
      DNSMASQ_PORT,
      first === undefined ? `dns-version.cluster.local TXT` : queryKey(first),
    );
    assertServerProcess(dnsmasq, /^dnsmasq$/);
    servers.dnsmasq = {
      startMs: dnsmasq.startMs,
      memoryAtStart: processMemory(dnsmasq.child.pid, "dnsmasq"),
      memoryAtEnd: null,
    };
    progress(`dnsmasq answers on ${ADDRESS}:${DNSMASQ_PORT} (${Math.round(dnsmasq.startMs)} ms)`);

    let answers: AnswerComparison | null = null;
    try {
      const sample = queries.slice(0, COMPARED_QUERIES);
      const sampleFile = `${sandbox.dir}/compared.txt`;
      writeFileSync(sampleFile, queryFileText(sample));
      const expected = new Map(sample.map((q) => [queryKey(q), q.rcode]));
      answers = compareAnswers(
        await askServer(netns, ADDRESS, podnet.port, sampleFile),
        await askServer(netns, ADDRESS, DNSMASQ_PORT, sampleFile),
        expected,
      );
      if (answers.differenceCount > 0)
        fail(
          `answers: ${answers.differenceCount} of ${answers.compared} differ; first: ${answers.differences[0]}`,
        );
    } catch (e) {
      fail(`answers: ${errorText(e)}`);
    }

    let load: LoadResults | null = null;
    try {
      load = await measureLoad(
        sandbox,
        netns,
        [podnet, dnsmasq],
        { ...options, address: ADDRESS, queryFile, rate: options.rate ?? undefined },
        kindOf,
        fail,
        progress,
      );
    } catch (e) {
      fail(`load: ${errorText(e)}`);
    }
    const memoryAtEnd = (server: RunningServer): ProcessMemory | null => {
      try {
        return processMemory(server.child.pid, server.subject);
      } catch (e) {
        fail(`memory of ${server.subject}: ${errorText(e)}`);
        return null;
      }
    };
    servers.podnet = { ...servers.podnet, memoryAtEnd: memoryAtEnd(podnet) };
    servers.dnsmasq = { ...servers.dnsmasq, memoryAtEnd: memoryAtEnd(dnsmasq) };
    const counters = await podnet.stop();
    if (counters === undefined) fail("podnet's DNS server printed no counters when stopped");
    await dnsmasq.stop();

    const agent = await agentMemory(sandbox, build.binary, entries, progress);

    const { machine, ...header } = bench.header();
    const raw: RawResults = {
      ...header,
      machine: { ...machine, ...versions },
      podnet: build.build(),
      options,
      zone: { hostLines: files.hostLines, srvLines: files.srvLines },
      answers,
      servers,
      load,
      podnetCounters:
        counters === undefined ? null : { queries: counters.queries, dropped: counters.dropped },
      agent,
      failures: bench.failures,
    };
    const report = buildReport(raw);
    return publishReport(renderTable(report), report, jsonFile);
  } finally {
    await sandbox.close();
  }
}

await runBench("bench:dns", USAGE, main);
