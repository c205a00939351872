/**
 * A runtime may SIGKILL the plugin at any moment (its deadline, an OOM kill, a restart of the
 * kubelet) and then sends DEL with whatever result it has — none after a killed ADD. Many
 * concurrent ADDs are killed after random delays spread over a whole ADD, then DELs (some of them
 * killed too, and repeated); afterwards the kernel and the node state must hold nothing of those
 * pods, and an ADD for every pod must fit a pool exactly as large as the pod count (one leaked
 * address, or an interface name left over, fails it). The kill moments, as fractions of an ADD
 * (DEL) measured first, come from a seeded generator: the seed is printed, and PODNET_KILL_SEED=N
 * draws the same ones again.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { AttachmentSpec, Conflist, JsonObject } from "../../src/lab/cni-runtime.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import {
  attachmentLeftovers,
  killedAt,
  type LeftoverScope,
  withNodeState,
} from "./harness/attachment-leftovers.ts";
import { addrsIn, linksIn, podnetVeths } from "./harness/kernel-state.ts";
import { hasFileOpen, KillablePlugin, type KillableRun } from "./harness/killable-plugin.ts";
import { holdStateLock } from "./harness/state-lock.ts";
import { NETWORK, type TestNode, type TestPod, useFreshTestNode, useTestNode } from "./harness/test-node.ts";

const PODS = 40;
const CONCURRENCY = 12;
const SEED = seedFromEnv();
console.log(`cni-kill: seed ${SEED} (PODNET_KILL_SEED=${SEED} draws the same kill moments again)`);

function seedFromEnv(): number {
  const text = process.env.PODNET_KILL_SEED;
  if (text === undefined) return crypto.getRandomValues(new Uint32Array(1))[0] ?? 1;
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`PODNET_KILL_SEED "${text}" is not a whole number`);
  return seed >>> 0;
}

/** A pool of exactly PODS addresses per family: every pod fits only if none leaked. */
function poolConflist(
  n: TestNode,
  mode: "bridge" | "ptp",
  network: string,
  dataDir: string,
  bridge: string,
): Conflist {
  const base = n.conflist({
    name: network,
    mode,
    subnets: ["10.97.0.0/24", "fd97::/64"],
    dataDir,
    ...(mode === "bridge" ? { bridge } : {}),
  });
  const [plugin] = base.plugins as JsonObject[];
  const ranges = [
    [{ subnet: "10.97.0.0/24", rangeStart: "10.97.0.10", rangeEnd: `10.97.0.${9 + PODS}` }],
    [{ subnet: "fd97::/64", rangeStart: "fd97::10", rangeEnd: `fd97::${(0x10 + PODS - 1).toString(16)}` }],
  ];
  return { ...base, plugins: [{ ...plugin, ipam: { ...(plugin?.ipam as JsonObject), ranges } }] };
}

function killable(n: TestNode, conflist: Conflist): KillablePlugin {
  return new KillablePlugin({
    conflist,
    pluginPath: n.runtime(conflist).pluginPath("podnet"),
    nodeNetns: n.netns,
    cniPath: n.binDirs,
  });
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** What went wrong with a run that was not killed on purpose (undefined when it succeeded). */
function failure(what: string, r: KillableRun): string | undefined {
  if (r.hung) return `${what} hung (still running after the hang limit)`;
  if (r.killed || r.code === 0) return undefined;
  return `${what} exited ${r.code ?? "by a signal"}: ${r.stdout.trim()} ${r.stderr.trim()}`;
}

/** Adds what went wrong with `r` to `problems`, which the test expects empty. */
function noteFailure(problems: string[], what: string, r: KillableRun): void {
  const problem = failure(what, r);
  if (problem !== undefined) problems.push(problem);
}

/** p90 of an unkilled ADD and DEL, run as concurrently as the kills will be (a network of its own). */
async function calibrate(n: TestNode, mode: "bridge" | "ptp"): Promise<{ addMs: number; delMs: number }> {
  const dataDir = `${n.dir}/calibration-state`;
  const plugin = killable(n, poolConflist(n, mode, "pncal", dataDir, "pncal0"));
  const sample = n.pods.slice(0, CONCURRENCY);
  const problems: string[] = [];
  const times = { add: [] as number[], del: [] as number[] };
  for (const round of ["warm-up", "measured"]) {
    const pods = round === "warm-up" ? sample.slice(0, 1) : sample;
    const results = new Map<TestPod, unknown>();
    await Promise.all(
      pods.map(async (pod) => {
        const r = await plugin.run("ADD", n.attachment(pod));
        noteFailure(problems, `calibration ADD ${pod.name}`, r);
        if (round === "measured") times.add.push(r.ms);
        results.set(pod, r.code === 0 ? JSON.parse(r.stdout) : undefined);
      }),
    );
    await Promise.all(
      pods.map(async (pod) => {
        const r = await plugin.run("DEL", n.attachment(pod), { prevResult: results.get(pod) });
        noteFailure(problems, `calibration DEL ${pod.name}`, r);
        if (round === "measured") times.del.push(r.ms);
      }),
    );
  }
  expect(problems).toEqual([]);
  expect(n.allocations("pncal", dataDir)).toEqual([]);
  return { addMs: quantile(times.add, 0.9), delMs: quantile(times.del, 0.9) };
}

describe.each(["bridge", "ptp"] as const)("SIGKILL during ADD and DEL in %s mode", (mode) => {
  const node = useTestNode({ pods: PODS });

  test(`${PODS} ADDs killed at random moments, ${CONCURRENCY} at a time, then DEL: nothing is left and every pod fits again`, async () => {
    const n = node();
    const { addMs, delMs } = await calibrate(n, mode);
    const random = mulberry32(SEED ^ (mode === "bridge" ? 0 : 0x9e3779b9));
    // Kills spread from the start to a little past a typical ADD (DEL), so some land after it ended.
    const plans = n.pods.map((pod) => ({
      pod,
      addKillMs: random() * addMs * 1.25,
      delKillMs: random() < 0.5 ? random() * delMs * 1.25 : undefined,
      // Runtimes send DEL without CNI_NETNS when they no longer have the namespace.
      delWithoutNetns: random() < 0.25,
    }));

    const scope: LeftoverScope = {
      network: NETWORK,
      dataDir: n.stateDir,
      bridge: mode === "bridge" ? "pnkill0" : undefined,
      podRoute: /^(10\.97\.0\.\d+|fd97::[0-9a-f]+)(\/(32|128))?$/,
    };
    const plugin = killable(n, poolConflist(n, mode, scope.network, scope.dataDir, "pnkill0"));
    const problems: string[] = [];
    const phases = new Map<string, number>();
    let killedAdds = 0;
    let killedDels = 0;
    const note = (what: string, r: KillableRun) => noteFailure(problems, what, r);

    await eachLimited(plans, CONCURRENCY, async ({ pod, addKillMs, delKillMs, delWithoutNetns }) => {
      const attachment: AttachmentSpec = n.attachment(pod);
      const add = await plugin.run("ADD", attachment, { killAfterMs: addKillMs });
      note(`ADD ${pod.name}`, add);
      if (add.killed) killedAdds++;
      const completed = !add.killed && add.code === 0;
      const phase = completed ? "completed" : add.killed ? await killedAt(n, scope, pod) : "failed";
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
      // The result a runtime holds: the ADD's, or none when the ADD did not answer.
      const prevResult: unknown = completed ? JSON.parse(add.stdout) : undefined;
      const delAttachment = delWithoutNetns ? { ...attachment, netnsPath: "" } : attachment;
      let del = await plugin.run("DEL", delAttachment, { prevResult, killAfterMs: delKillMs });
      if (del.killed) {
        killedDels++;
        // A DEL that did not succeed is sent again (CNI: DEL must be idempotent).
        del = await plugin.run("DEL", delAttachment, { prevResult });
      }
      note(`DEL ${pod.name}`, del);
    });
    console.log(
      `cni-kill ${mode}: ADD p90 ${addMs.toFixed(0)} ms, DEL p90 ${delMs.toFixed(0)} ms; ` +
        `${[...phases].map(([p, c]) => `${c} ${p}`).join(", ")}; ${killedDels} DELs killed and repeated`,
    );

    expect(problems).toEqual([]);
    expect(killedAdds).toBeGreaterThan(0);
    expect(killedDels).toBeGreaterThan(0);
    expect(attachmentLeftovers(n, scope)).toEqual([]);

    // Every pod again, at once: the pool has exactly PODS addresses per family, so this fits only
    // if every address came back, and no leftover interface name blocks an ADD.
    const results = new Map<TestPod, { ips: { address: string }[] }>();
    await eachLimited(n.pods, CONCURRENCY, async (pod) => {
      const r = await plugin.run("ADD", n.attachment(pod));
      note(`fresh ADD ${pod.name}`, r);
      if (r.code === 0) results.set(pod, JSON.parse(r.stdout));
    });
    expect(problems).toEqual([]);
    const addresses = [...results.values()].flatMap((r) => r.ips.map((ip) => ip.address.split("/")[0]));
    expect(new Set(addresses).size).toBe(2 * PODS);
    for (const pod of n.pods) {
      const inKernel = addrsIn(pod.netns, pod.ifname).map((a) => a.split("/")[0]);
      const answered = results.get(pod)?.ips.map((ip) => ip.address.split("/")[0]) ?? [];
      expect(inKernel.sort()).toEqual(answered.sort());
    }
    expect(podnetVeths(n.netns)).toHaveLength(PODS);
    if (scope.bridge !== undefined)
      expect(linksIn(n.netns).filter((l) => l.master === scope.bridge)).toHaveLength(PODS);

    await eachLimited(n.pods, CONCURRENCY, async (pod) => {
      note(
        `final DEL ${pod.name}`,
        await plugin.run("DEL", n.attachment(pod), { prevResult: results.get(pod) }),
      );
    });
    expect(problems).toEqual([]);
    // The pool is whole again.
    expect(attachmentLeftovers(n, scope)).toEqual([]);
  });
});

describe("a plugin killed while it holds the node state's write lock", () => {
  const node = useFreshTestNode({ pods: CONCURRENCY });

  test(`${CONCURRENCY} ADDs queued on the lock go on when its holder is killed, and its writes are gone`, async () => {
    const n = node();
    const conflist = n.conflist({ mode: "bridge" });
    const plugin = killable(n, conflist);
    const dbPath = withNodeState(n.stateDir, (s) => s.path);

    const holder = await holdStateLock(n.stateDir);
    let adds: Promise<KillableRun>[] = [];
    try {
      const started: number[] = [];
      adds = n.pods.map((pod) =>
        plugin.run("ADD", n.attachment(pod), { started: (proc) => started.push(proc.pid) }),
      );
      // Each ADD is running with the database open: none can have allocated while the lock is
      // held, so all of them are inside SQLite, waiting for it, when the holder dies.
      await pollUntil(
        "every ADD to open the node state",
        () => started.length === n.pods.length && started.every((pid) => hasFileOpen(pid, dbPath)),
        8_000,
      );
      await holder.kill();

      const runs = await Promise.all(adds);
      expect(runs.map((r, i) => failure(`ADD ${n.pod(i).name}`, r))).toEqual(runs.map(() => undefined));
      const held = n.allocations();
      expect(held).toHaveLength(CONCURRENCY);
      expect(new Set(held.map((a) => a.ip.value)).size).toBe(CONCURRENCY);
    } finally {
      await holder.kill();
      // No plugin may still be running in the namespaces the node's disposal removes.
      await Promise.allSettled(adds);
    }
    // The killed transaction is rolled back: what it wrote is not in the database.
    const db = new Database(dbPath, { readonly: true });
    try {
      expect(db.query("SELECT name FROM sqlite_master WHERE name = 'lock_holder_scratch'").all()).toEqual([]);
    } finally {
      db.close();
    }
    const rt = n.runtime(conflist);
    for (const pod of n.pods) await rt.del(n.attachment(pod));
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
  });
});
