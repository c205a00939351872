/**
 * The podnet agent's own memory with the benchmark's Services: the real `podnet agent` (the
 * cluster benchmark's BenchAgent, the lab's command line, its defaults: service proxy and
 * node-local DNS on 169.254.20.10) in a node namespace of the run, with a SQLite datastore of the
 * run. Once it is ready, the Services are written straight into the datastore (the records
 * `podnet service create` writes, without its ClusterIP bookkeeping, which the agent never
 * reads) and their endpoints as pod records of another node; memory is read once the agent's DNS
 * answers the last Service and the last endpoint's pod name. A build whose agent does not serve
 * DNS yet is reported as not measured, with the reason.
 */
import { writeFileSync } from "node:fs";
import { errorText } from "../../src/base/error-text.ts";
import { pollUntil } from "../../src/base/poll-until.ts";
import { dashedIP } from "../../src/dns/dns-name.ts";
import { parseIP } from "../../src/ipnet/address.ts";
import { runSync } from "../../src/linux/exec.ts";
import { BenchAgent } from "../cluster/bench-agent.ts";
import { createAgentNode, endpointPodRecord, writeServiceRecords } from "../support/agent-datastore.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import { DOMAIN, type ZoneEntry } from "./bench-zone.ts";
import type { AgentMemory } from "./report.ts";
import { askServer } from "./subjects.ts";

/** The agent's default node-local DNS address (`podnet agent --help`). */
const AGENT_DNS = "169.254.20.10";
const CONVERGE_TIMEOUT_MS = 180_000;

function servesDns(podnet: string): string | undefined {
  const help = runSync([podnet, "agent", "--help"]);
  const text = `${help.stdout}${help.stderr}`;
  if (text === "") return `${podnet} could not be run (exit ${help.code})`;
  if (!text.includes("--dns-address"))
    return `${podnet} agent has no --dns-address: this build does not serve DNS`;
  return undefined;
}

export async function agentMemory(
  sandbox: BenchSandbox,
  podnet: string,
  entries: readonly ZoneEntry[],
  progress: (message: string) => void,
): Promise<AgentMemory> {
  const missing = servesDns(podnet);
  if (missing !== undefined) return { measured: false, reason: missing };
  const last = entries[entries.length - 1];
  if (last === undefined) return { measured: false, reason: "no Services" };
  const netns = createAgentNode(sandbox, "node");
  const datastore = `${sandbox.dir}/cluster.db`;
  const agent = BenchAgent.startAlone(sandbox, podnet, {
    netns,
    datastorePath: datastore,
    dir: `${sandbox.dir}/agent`,
  });
  try {
    await agent.waitReady(60_000);
    const empty = agent.memory();
    progress(`agent ready; writing ${entries.length} Services and their endpoints into its datastore`);
    const started = performance.now();
    await writeServiceRecords(datastore, entries);
    const lastPod = endpointPodRecord(last, last.endpoints.length - 1);
    const lastIp = lastPod.ips[0] ?? "";
    const probe = `${sandbox.dir}/agent-probe.txt`;
    writeFileSync(
      probe,
      `${last.service.name}.${last.service.namespace}.svc.${DOMAIN} A\n${dashedIP(parseIP(lastIp))}.${lastPod.namespace}.pod.${DOMAIN} A\n`,
    );
    await pollUntil(
      "the agent's DNS to answer the last Service and endpoint",
      async () => {
        if (!agent.running) throw new Error(`the agent exited: ${agent.logTail()}`);
        const answers = await askServer(netns, AGENT_DNS, 53, probe);
        return answers.every((a) => a.rcode === "NOERROR" && a.records.length > 0);
      },
      CONVERGE_TIMEOUT_MS,
      { intervalMs: 250, detail: () => agent.logTail() },
    );
    const convergeMs = performance.now() - started;
    const m = agent.memory();
    if (m === undefined)
      return { measured: false, reason: `the agent's memory could not be read: ${agent.logTail()}` };
    progress(`agent answers all ${entries.length} Services after ${Math.round(convergeMs)} ms`);
    return {
      measured: true,
      services: entries.length,
      endpoints: entries.reduce((n, e) => n + e.endpoints.length, 0),
      memory: { rssMiB: m.rssKiB / 1024, hwmMiB: m.peakRssKiB / 1024 },
      emptyRssMiB: empty === undefined ? null : empty.rssKiB / 1024,
      convergeMs,
    };
  } catch (e) {
    return { measured: false, reason: `the agent could not be measured: ${errorText(e)}` };
  } finally {
    await sandbox.stop(agent.child);
  }
}
