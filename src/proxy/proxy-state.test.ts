import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { needsFullSync, planText, type SyncPlan } from "./diff.ts";
import { endpoint, GOLDEN_CASES, nodeInput, service } from "./golden-cases.ts";
import type { Ruleset } from "./nft-model.ts";
import { comparable, type ReplayState, replay, stateOf } from "./nft-replay.ts";
import { ProxyState } from "./proxy-state.ts";
import { RandomCluster } from "./random-changes.ts";
import { renderNft } from "./render-nft.ts";
import { type ProxyInput, renderRuleset } from "./ruleset.ts";

const keyed = (input: ProxyInput) =>
  input.services.map((e) => [`${e.service.namespace}/${e.service.name}`, e] as const);

const messages = (r: { problems: readonly { message: string }[] }) => r.problems.map((p) => p.message);

describe("ProxyState renders what renderRuleset renders", () => {
  for (const [name, input] of Object.entries(GOLDEN_CASES)) {
    test(`golden case ${name}`, () => {
      const state = new ProxyState(input.family);
      const plan = state.update(input, keyed(input));
      const expected = renderRuleset(input);
      expect(plan.kind).toBe("full");
      expect(planText(plan)).toBe(renderNft(expected));
      expect(messages(state.snapshot())).toEqual(messages(expected));
    });
  }

  test("an unchanged entry is no change; a changed one is a partial sync of that Service alone", () => {
    const web = service("web", ["10.96.0.10"], [{ protocol: "TCP", port: 80, targetPort: 8080 }]);
    const api = service("api", ["10.96.0.11"], [{ protocol: "TCP", port: 80, targetPort: 8080 }]);
    const entries = [
      { service: web, endpoints: [endpoint("10.244.1.5")] },
      { service: api, endpoints: [endpoint("10.244.1.6")] },
    ];
    const input = nodeInput(entries);
    const state = new ProxyState("ip");
    expect(state.update(input, keyed(input)).kind).toBe("full");
    expect(state.update(input, keyed(input)).kind).toBe("none");
    const moved = { service: web, endpoints: [endpoint("10.244.1.9")] };
    const plan = state.update(input, [["default/web", moved]]);
    expect(plan.kind).toBe("partial");
    const text = plan.kind === "partial" ? plan.text : "";
    expect(text).toContain("10.244.1.9");
    expect(text).not.toContain("10.96.0.11");
  });

  test("a NodePort freed by one Service goes to the next one asking for it, in the same sync", () => {
    const np = (name: string, ip: string) =>
      service(name, [ip], [{ protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }]);
    const a = { service: np("a", "10.96.0.1"), endpoints: [endpoint("10.244.1.1")] };
    const b = { service: np("b", "10.96.0.2"), endpoints: [endpoint("10.244.1.2")] };
    const input = nodeInput([a, b]);
    const state = new ProxyState("ip");
    state.update(input, keyed(input));
    expect(messages(state.snapshot())).toEqual([
      'Service "default/b": NodePort 30080/TCP is already used by "default/a"; the NodePort is skipped',
    ]);
    const plan = state.update(input, [["default/a", undefined]]);
    expect(messages(state.snapshot())).toEqual([]);
    expect(renderNft(state.snapshot())).toBe(renderNft(renderRuleset(nodeInput([b]))));
    // b's NodePort now leads to b's endpoint.
    expect(plan.kind === "partial" ? plan.text : "").toContain(
      "add element ip podnet nodeport-endpoints-tcp { 30080 . 0 : 10.244.1.2 . 8080 }",
    );
  });

  test("input of the other family is refused", () => {
    expect(() => new ProxyState("ip6").update(nodeInput([]), [])).toThrow(/ip6 table/);
  });
});

/**
 * The property the issue asks for: along a long random sequence, the sync each update returns
 * takes the previous table to the new one under the kernel's transaction rules (replayed at every
 * step), and every `checkEvery` steps and at the end the state is the full render of the input
 * byte for byte, with the renderer's problems, and the replayed table is that render's. (Checking
 * everything at every step costs about 0.2 s a step at 1,000 Services.)
 */
function runSequence(seed: number, names: number, steps: number, checkEvery: number): void {
  const cluster = new RandomCluster(mulberry32(seed), names);
  for (let i = 0; i < names / 2; i++) cluster.step();
  const state = new ProxyState("ip");
  let kernel: ReplayState | undefined;
  let previous: Ruleset | undefined;
  let fulls = 0;
  let partials = 0;
  const recent: string[] = [];
  for (let step = 0; step <= steps; step++) {
    const changes = step === 0 ? new Map(cluster.entries) : cluster.step();
    recent.push(
      `${step}: ${[...changes.keys()].slice(0, 3).join(", ")}${changes.size > 3 ? ` +${changes.size - 3}` : ""}`,
    );
    if (recent.length > checkEvery) recent.shift();
    const where = () => `seed ${seed}, steps ${recent.join("; ")}`;
    const plan: SyncPlan = state.update(cluster.node, changes);
    const check = step % checkEvery === 0 || step === steps || plan.kind === "full";
    const expected = check ? renderRuleset({ ...cluster.node, services: cluster.services() }) : undefined;
    if (plan.kind === "full") {
      fulls++;
      if (previous !== undefined && expected !== undefined && !needsFullSync(previous, expected))
        throw new Error(`${where()}: a full sync where a partial one would do`);
      kernel = stateOf(state.snapshot());
    } else if (kernel === undefined) {
      throw new Error(`${where()}: the first sync is not full`);
    } else if (plan.kind === "partial") {
      partials++;
      kernel = replay(kernel, plan.text, "ip podnet");
    }
    if (expected === undefined || kernel === undefined) continue;
    const snapshot = state.snapshot();
    const want = renderNft(expected);
    if (renderNft(snapshot) !== want) throw new Error(`${where()}: the state differs from the full render`);
    if (planText(state.fullSync()) !== want)
      throw new Error(`${where()}: its full sync is not the full render`);
    expect(messages(snapshot)).toEqual(messages(expected));
    expect(comparable(kernel)).toEqual(comparable(stateOf(expected)));
    previous = expected;
  }
  expect(fulls).toBeGreaterThanOrEqual(1);
  expect(partials).toBeGreaterThan(steps / 2);
}

describe("ProxyState over long random change sequences", () => {
  test("1,000 Services, 1,000 steps of 1 to 100 changes", () => runSequence(1, 2000, 1000, 25), 600_000);
  for (const seed of [2, 3, 4])
    test(
      `small clusters where everything collides (seed ${seed})`,
      () => runSequence(seed, 40, 1000, 1),
      120_000,
    );
});
