/**
 * The plugin's operations served by the node agent (plugin/agent-protocol.ts, agent/cni-service.ts):
 * with an agent on the node, the executed plugin hands ADD and DEL to it and answers with its
 * result; without one — never started, or killed and its socket left behind — the plugin does the
 * work itself. Killing plugins at random moments while the agent serves them, or killing the agent
 * in the middle of an ADD, followed by the DELs a runtime sends, leaves no address, interface or
 * pod row behind, and every pod fits an exactly-sized pool again. Kill moments come from a seeded
 * generator (PODNET_KILL_SEED=N repeats a run).
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { AttachmentSpec, Conflist, JsonObject } from "../../src/lab/cni-runtime.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { stopProcess } from "../../testkit/stop-process.ts";
import { agentLog } from "./harness/agent-log.ts";
import { attachmentLeftovers, type LeftoverScope } from "./harness/attachment-leftovers.ts";
import { addrsIn, podnetVeths } from "./harness/kernel-state.ts";
import { KillablePlugin, type KillableRun } from "./harness/killable-plugin.ts";
import { agentOperations, startNodeAgent } from "./harness/node-agent.ts";
import { holdStateLock } from "./harness/state-lock.ts";
import { NETWORK, type TestNode, useFreshTestNode } from "./harness/test-node.ts";

const PODS = 30;
const CONCURRENCY = 10;
const SEED = Number(process.env.PODNET_KILL_SEED ?? crypto.getRandomValues(new Uint32Array(1))[0]) >>> 0;
console.log(`cni-agent-path: seed ${SEED} (PODNET_KILL_SEED=${SEED} draws the same kill moments again)`);

/** A pool of exactly PODS IPv4 addresses: every pod fits again only if none leaked. */
function poolConflist(n: TestNode): Conflist {
  const base = n.conflist({ mode: "bridge", bridge: "pnagent0", subnets: ["10.98.0.0/24"] });
  const [plugin] = base.plugins as JsonObject[];
  const ranges = [[{ subnet: "10.98.0.0/24", rangeStart: "10.98.0.10", rangeEnd: `10.98.0.${9 + PODS}` }]];
  return { ...base, plugins: [{ ...plugin, ipam: { ...(plugin?.ipam as JsonObject), ranges } }] };
}

const scopeOf = (n: TestNode): LeftoverScope => ({
  network: NETWORK,
  dataDir: n.stateDir,
  bridge: "pnagent0",
  podRoute: /^10\.98\.0\.\d+(\/32)?$/,
});

function killable(n: TestNode): KillablePlugin {
  const conflist = poolConflist(n);
  return new KillablePlugin({
    conflist,
    pluginPath: n.runtime(conflist).pluginPath("podnet"),
    nodeNetns: n.netns,
    cniPath: n.binDirs,
  });
}

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The CNI error code of a failed run (undefined when it succeeded or printed no document). */
function cniCode(r: KillableRun): number | undefined {
  if (r.code === 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as { code?: number }).code;
  } catch {
    return undefined;
  }
}

function problemOf(what: string, r: KillableRun, allowed: readonly number[] = []): string | undefined {
  if (r.hung) return `${what} hung`;
  if (r.killed || r.code === 0) return undefined;
  const code = cniCode(r);
  return code !== undefined && allowed.includes(code)
    ? undefined
    : `${what} exited ${r.code ?? "by a signal"}: ${r.stdout.trim()} ${r.stderr.trim()}`;
}

/** Every pod at once, then DEL: the pool is whole and each pod's kernel address is its answer. */
async function expectPoolWhole(n: TestNode, plugin: KillablePlugin, problems: string[]): Promise<void> {
  const results = new Map<string, string[]>();
  await eachLimited(n.pods, CONCURRENCY, async (pod) => {
    const r = await plugin.run("ADD", n.attachment(pod));
    const problem = problemOf(`fresh ADD ${pod.name}`, r);
    if (problem) problems.push(problem);
    if (r.code === 0)
      results.set(
        pod.name,
        (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips.map((i) => i.address),
      );
  });
  expect(problems).toEqual([]);
  expect(new Set([...results.values()].flat()).size).toBe(PODS);
  for (const pod of n.pods) expect(addrsIn(pod.netns, pod.ifname)).toEqual(results.get(pod.name) ?? []);
  await eachLimited(n.pods, CONCURRENCY, async (pod) => {
    const problem = problemOf(`final DEL ${pod.name}`, await plugin.run("DEL", n.attachment(pod)));
    if (problem) problems.push(problem);
  });
  expect(problems).toEqual([]);
  expect(attachmentLeftovers(n, scopeOf(n))).toEqual([]);
}

describe("the node agent serves the plugin", () => {
  const node = useFreshTestNode({ pods: 2 });

  test("ADD and DEL through the plugin are done by the agent, and the pod works", async () => {
    const n = node();
    await startNodeAgent(n);
    const rt = n.runtime(n.conflist({ mode: "bridge" }));
    const pod = n.pod(0);
    const result = (await rt.add(n.attachment(pod))) as { ips: { address: string }[] };
    expect(await agentOperations(n, "ADD", "ok")).toBe(1);
    expect(addrsIn(pod.netns, "eth0")).toEqual(result.ips.map((i) => i.address));
    expect(n.allocations().map((a) => a.containerId)).toEqual([pod.containerId]);
    await rt.del(n.attachment(pod));
    expect(await agentOperations(n, "DEL", "ok")).toBe(1);
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
  });

  test("a plugin the agent declines (one it cannot tell from another process) does the work itself", async () => {
    const n = node();
    await startNodeAgent(n);
    // The same plugin under a name the agent does not know as podnet's.
    copyFileSync(`${n.binDir}/podnet`, `${n.binDir}/other-plugin`);
    const conflist = n.conflist({ mode: "bridge" });
    const plugin = { ...(conflist.plugins[0] as JsonObject), type: "other-plugin" };
    const rt = n.runtime({ ...conflist, plugins: [plugin] });
    const pod = n.pod(0);
    const result = (await rt.add(n.attachment(pod))) as { ips: { address: string }[] };
    expect(addrsIn(pod.netns, "eth0")).toEqual(result.ips.map((i) => i.address));
    await rt.del(n.attachment(pod));
    expect(await agentOperations(n, "ADD", "declined")).toBe(1);
    expect(await agentOperations(n, "DEL", "declined")).toBe(1);
    expect(await agentOperations(n, "ADD", "ok")).toBe(0);
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
  });

  test("with the agent killed (its socket left behind) the plugin does the work itself", async () => {
    const n = node();
    const agent = await startNodeAgent(n);
    await stopProcess(agent.child, "SIGKILL");
    expect(existsSync(agent.socket)).toBe(true);
    const rt = n.runtime(n.conflist({ mode: "bridge" }));
    const pod = n.pod(1);
    const result = (await rt.add(n.attachment(pod))) as { ips: { address: string }[] };
    expect(addrsIn(pod.netns, "eth0")).toEqual(result.ips.map((i) => i.address));
    await rt.del(n.attachment(pod));
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
  });
});

describe("SIGKILL on the agent's path", () => {
  const node = useFreshTestNode({ pods: PODS });

  test(`${PODS} plugins killed at random moments while the agent serves them, then DEL: nothing is left`, async () => {
    const n = node();
    await startNodeAgent(n);
    const plugin = killable(n);
    const random = mulberry32(SEED);
    const problems: string[] = [];
    // How long one relayed ADD and DEL take under this concurrency: kills spread over them.
    const sample: KillableRun[] = [];
    await eachLimited(n.pods.slice(0, CONCURRENCY), CONCURRENCY, async (pod) => {
      const add = await plugin.run("ADD", n.attachment(pod));
      const del = await plugin.run("DEL", n.attachment(pod));
      for (const [what, r] of [
        ["ADD", add],
        ["DEL", del],
      ] as const) {
        const problem = problemOf(`calibration ${what} ${pod.name}`, r);
        if (problem) problems.push(problem);
      }
      sample.push(add, del);
    });
    expect(problems).toEqual([]);
    const spanMs = Math.max(...sample.map((r) => r.ms));
    let killed = 0;
    let answered = sample.length / 2;
    await eachLimited(n.pods, CONCURRENCY, async (pod) => {
      const a: AttachmentSpec = n.attachment(pod);
      const add = await plugin.run("ADD", a, { killAfterMs: random() * spanMs });
      if (add.killed) killed++;
      else if (add.code === 0) answered++;
      const addProblem = problemOf(`ADD ${pod.name}`, add);
      if (addProblem) problems.push(addProblem);
      const prevResult: unknown = add.code === 0 ? JSON.parse(add.stdout) : undefined;
      let del = await plugin.run("DEL", a, {
        prevResult,
        killAfterMs: random() < 0.5 ? random() * spanMs : undefined,
      });
      if (del.killed) {
        killed++;
        del = await plugin.run("DEL", a, { prevResult });
      }
      const delProblem = problemOf(`DEL ${pod.name}`, del);
      if (delProblem) problems.push(delProblem);
    });
    expect(problems).toEqual([]);
    expect(killed).toBeGreaterThan(0);
    expect(attachmentLeftovers(n, scopeOf(n))).toEqual([]);
    // The agent did the work: every answered ADD was its (a plugin killed before the agent got
    // to its request is declined, being gone, and nothing is done for it).
    expect(await agentOperations(n, "ADD", "ok")).toBeGreaterThanOrEqual(answered);
    await expectPoolWhole(n, plugin, problems);
  });

  test("the agent killed in the middle of an ADD: the plugin says try again later, and the DELs leave nothing", async () => {
    const n = node();
    const agent = await startNodeAgent(n);
    const plugin = killable(n);
    const problems: string[] = [];
    // The agent's first operation waits on the state's write lock, held by another process: the
    // agent is inside that ADD, for certain, when it is killed.
    const holder = await holdStateLock(n.stateDir);
    let adds: Promise<KillableRun>[] = [];
    try {
      adds = n.pods.slice(0, CONCURRENCY).map((pod) => plugin.run("ADD", n.attachment(pod)));
      await pollUntil("the agent to start an operation", () =>
        agentLog(agent).some((e) => e.msg === "serving a plugin operation"),
      );
      await stopProcess(agent.child, "SIGKILL");
    } finally {
      await holder.kill();
    }
    const runs = await Promise.all(adds);
    // The one the agent had taken: "try again later"; the others, never taken, done by the plugins.
    const codes = runs.map((r) => (r.code === 0 ? 0 : cniCode(r)));
    expect(codes.filter((c) => c === 11)).toHaveLength(1);
    expect(codes.filter((c) => c === 0)).toHaveLength(CONCURRENCY - 1);
    // What a runtime does after any ADD: DEL, now without an agent (its stale socket refuses).
    await eachLimited(n.pods, CONCURRENCY, async (pod) => {
      const problem = problemOf(`DEL ${pod.name}`, await plugin.run("DEL", n.attachment(pod)));
      if (problem) problems.push(problem);
    });
    expect(problems).toEqual([]);
    expect(attachmentLeftovers(n, scopeOf(n))).toEqual([]);
    await expectPoolWhole(n, plugin, problems);
  });

  test("the agent killed at random moments of bursts of ADDs: only successes or try-again-later, then nothing left", async () => {
    const n = node();
    const plugin = killable(n);
    const random = mulberry32(SEED ^ 0x5bd1e995);
    const problems: string[] = [];
    const codes: number[] = [];
    for (let round = 0; round < 3; round++) {
      const agent = await startNodeAgent(n);
      const pods = n.pods.slice(round * CONCURRENCY, (round + 1) * CONCURRENCY);
      const adds = pods.map((pod) => plugin.run("ADD", n.attachment(pod)));
      await Bun.sleep(random() * 400);
      await stopProcess(agent.child, "SIGKILL");
      for (const [i, r] of (await Promise.all(adds)).entries()) {
        const problem = problemOf(`round ${round} ADD ${pods[i]?.name}`, r, [11]);
        if (problem) problems.push(problem);
        codes.push(r.code === 0 ? 0 : (cniCode(r) ?? -1));
      }
    }
    console.log(
      `cni-agent-path: agent killed in 3 bursts; ${codes.filter((c) => c === 0).length} ADDs succeeded, ${codes.filter((c) => c === 11).length} "try again later"`,
    );
    expect(problems).toEqual([]);
    await eachLimited(n.pods, CONCURRENCY, async (pod) => {
      const problem = problemOf(`DEL ${pod.name}`, await plugin.run("DEL", n.attachment(pod)));
      if (problem) problems.push(problem);
    });
    expect(problems).toEqual([]);
    expect(attachmentLeftovers(n, scopeOf(n))).toEqual([]);
    await expectPoolWhole(n, plugin, problems);
  });
});
