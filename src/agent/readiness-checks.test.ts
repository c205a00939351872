/**
 * ReadinessChecks over a real node state and datastore (temporary SQLite files), its checks
 * answered by a fake probe: what it hands the publisher, pod by pod.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { useTempNodeState } from "../../test/support/temp-node-state.ts";
import { useTempStores } from "../../test/support/temp-store.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import { formatIP } from "../ipnet/address.ts";
import { parseReadinessCheck, type ReadinessCheck } from "../node-state/node-state.ts";
import type { ProbeOutcome } from "./pod-probe.ts";
import { ReadinessChecks } from "./readiness-checks.ts";

// Checks run every second of real time: a test takes a few.
setDefaultTimeout(15_000);
const t = useTempNodeState("podnet-readiness-checks");
const openStore = useTempStores("podnet-readiness-checks");
const NETWORK = "podnet";
const ranges = buildRangeSets([[{ subnet: "10.244.1.0/24" }]]);
const check = (more: Record<string, number> = {}) =>
  parseReadinessCheck({
    tcpSocket: { port: 8080 },
    periodSeconds: 1,
    failureThreshold: 1,
    ...more,
  }) as ReadinessCheck;
/** Warnings and errors fail the test that logged them; the rest is not shown. */
const problems: string[] = [];
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: (m, f) => problems.push(`${m} ${JSON.stringify(f)}`),
  error: (m, f) => problems.push(`${m} ${JSON.stringify(f)}`),
};

let running: ReadinessChecks | undefined;
afterEach(() => {
  running?.stop();
  expect(problems.splice(0)).toEqual([]);
});

/** A node whose pods answer as `answers` says (by IP; unlisted: refused); `recorded`: records already stored. */
async function setUp(
  answers: Map<string, boolean>,
  recorded: { name: string; ready?: false }[] = [],
  more: { maxConcurrent?: number; hangs?: Set<string>; ranges?: typeof ranges } = {},
) {
  const store = await openStore();
  for (const r of recorded)
    await putPodRecord(store, {
      namespace: "default",
      name: r.name,
      node: "node1",
      ips: ["10.244.1.200"],
      labels: {},
      ...(r.ready === false ? { ready: false } : {}),
    });
  const calls: string[] = [];
  const metrics = new Metrics();
  const checks = new ReadinessChecks(
    {
      nodeName: "node1",
      cniNetwork: NETWORK,
      stateDir: t.dir,
      resyncSeconds: 60,
      ...(more.maxConcurrent ? { maxConcurrent: more.maxConcurrent } : {}),
    },
    {
      setReadiness: (pod, ready) => calls.push(`${pod.namespace}/${pod.name}=${ready}`),
      store,
      log: quiet,
      metrics,
      probe: (ip): Promise<ProbeOutcome> =>
        // A pod in `hangs` is a server that accepts and never answers, under a probe that never ends.
        more.hangs?.has(ip)
          ? new Promise<ProbeOutcome>(() => {})
          : Promise.resolve(
              answers.get(ip)
                ? { result: "success", detail: "connected" }
                : { result: "failure", detail: "refused" },
            ),
    },
  );
  running = checks;
  const state = t.open();
  const key = (containerId: string) => ({ network: NETWORK, containerId, ifname: "eth0" });
  /** Attaches a pod as the plugin does; returns its address. */
  const add = (containerId: string, name: string, readiness?: ReadinessCheck): string => {
    const { allocations } = state.allocate(key(containerId), more.ranges ?? ranges, [], {
      namespace: "default",
      name,
      labels: {},
      ...(readiness ? { readiness } : {}),
    });
    return formatIP((allocations[0] as { ip: Parameters<typeof formatIP>[0] }).ip);
  };
  const remove = (containerId: string) => state.release(key(containerId));
  const sample = async (name: string) => metricValue(await metrics.render(), name);
  return { checks, calls, add, remove, sample };
}

const until = (what: string, condition: () => boolean | Promise<boolean>, detail: () => string) =>
  pollUntil(what, condition, 5_000, { detail });

describe("ReadinessChecks", () => {
  test("a checked pod is not ready until its first success; an unchecked pod is never handed on", async () => {
    const answers = new Map<string, boolean>();
    const { checks, calls, add, sample } = await setUp(answers);
    const ip = add("c1", "web", check());
    add("c2", "plain");
    await checks.start();
    // Handed on at once, before any check ran: the publisher's first sync already carries it.
    expect(calls).toEqual(["default/web=false"]);
    await until(
      "a failed check",
      async () => ((await sample('podnet_agent_readiness_checks_total{result="failure"}')) ?? 0) > 0,
      () => calls.join(" "),
    );
    expect(await sample("podnet_agent_pods_not_ready")).toBe(1);
    answers.set(ip, true);
    await until(
      "web to become ready",
      () => calls.includes("default/web=true"),
      () => calls.join(" "),
    );
    expect(calls).toEqual(["default/web=false", "default/web=true"]);
    expect(checks.states).toEqual(new Map([["default/web", true]]));
    expect(await sample("podnet_agent_pods_not_ready")).toBe(0);
    expect(await sample("podnet_agent_pods_checked")).toBe(1);
  });

  test("a failing pod changes only its own readiness; a deleted pod is forgotten", async () => {
    const answers = new Map<string, boolean>();
    const { checks, calls, add, remove } = await setUp(answers);
    const a = add("c1", "web-a", check());
    const b = add("c2", "web-b", check());
    answers.set(a, true);
    answers.set(b, true);
    await checks.start();
    await until(
      "both ready",
      () => [...checks.states.values()].every((r) => r),
      () => calls.join(" "),
    );
    answers.set(a, false);
    await until(
      "web-a not ready",
      () => checks.states.get("default/web-a") === false,
      () => calls.join(" "),
    );
    expect(calls.filter((c) => c.startsWith("default/web-b"))).toEqual([
      "default/web-b=false",
      "default/web-b=true",
    ]);
    remove("c1");
    checks.requestRefresh("test");
    await until(
      "web-a forgotten",
      () => calls.at(-1) === "default/web-a=undefined",
      () => calls.join(" "),
    );
    expect([...checks.states.keys()]).toEqual(["default/web-b"]);
  });

  test("a pod found at start keeps the readiness its record carries until its thresholds say otherwise", async () => {
    const answers = new Map<string, boolean>();
    const { checks, calls, add } = await setUp(answers, [
      { name: "was-ready" },
      { name: "was-not", ready: false },
    ]);
    add("c1", "was-ready", check({ failureThreshold: 2 }));
    add("c2", "was-not", check());
    add("c3", "new", check());
    await checks.start();
    expect(calls).toEqual(["default/was-ready=true", "default/was-not=false", "default/new=false"]);
    // Every check fails: two in a row take was-ready out.
    await until(
      "was-ready to go after two failures",
      () => calls.includes("default/was-ready=false"),
      () => calls.join(" "),
    );
  });

  test("a pod attached with another check starts over", async () => {
    const answers = new Map<string, boolean>();
    const { checks, calls, add } = await setUp(answers);
    const ip = add("c1", "web", check());
    answers.set(ip, true);
    await checks.start();
    await until(
      "web ready",
      () => calls.includes("default/web=true"),
      () => calls.join(" "),
    );
    add("c1", "web", check({ periodSeconds: 2 }));
    checks.requestRefresh("test");
    await until(
      "web to start over",
      () => calls.length >= 3,
      () => calls.join(" "),
    );
    // Not ready again at once, until the new check's first success (which may have come already).
    expect(calls.slice(0, 3)).toEqual(["default/web=false", "default/web=true", "default/web=false"]);
  });

  test("a pod deleted and created again under the same name, address and check starts not ready", async () => {
    const answers = new Map<string, boolean>();
    // A pool of one address: a pod created again gets the same one.
    const one = buildRangeSets([
      [{ subnet: "10.244.1.0/24", rangeStart: "10.244.1.7", rangeEnd: "10.244.1.7" }],
    ]);
    const { checks, calls, add, remove } = await setUp(answers, [], { ranges: one });
    const ip = add("c1", "web", check());
    answers.set(ip, true);
    await checks.start();
    await until(
      "web ready",
      () => calls.includes("default/web=true"),
      () => calls.join(" "),
    );
    // Both between two reads of the rows; the address freed is handed straight back.
    remove("c1");
    expect(add("c2", "web", check())).toBe(ip);
    checks.requestRefresh("test");
    await until(
      "the new pod to start over",
      () => calls.length >= 3,
      () => calls.join(" "),
    );
    expect(calls.slice(0, 3)).toEqual(["default/web=false", "default/web=true", "default/web=false"]);
  });

  test("checks that hang until their timeout do not hold back another pod's checks", async () => {
    const answers = new Map<string, boolean>();
    const hangs = new Set<string>();
    // One slot for the node, and two pods whose checks never end (each bounded by its 10 s timeout).
    const { checks, calls, add } = await setUp(answers, [], { maxConcurrent: 1, hangs });
    hangs.add(add("c1", "stuck-1", check({ timeoutSeconds: 10 })));
    hangs.add(add("c2", "stuck-2", check({ timeoutSeconds: 10 })));
    await checks.start();
    // Both first checks start within one period of the start, and hang.
    await Bun.sleep(1_200);
    answers.set(add("c3", "web", check()), true);
    checks.requestRefresh("test");
    await until(
      "web ready while the other two hang",
      () => calls.includes("default/web=true"),
      () => calls.join(" "),
    );
    expect(checks.states.get("default/stuck-1")).toBe(false);
  });
});
