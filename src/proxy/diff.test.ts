import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import type { Endpoint } from "../k8s/service-model.ts";
import { diffRulesets, fullSync, planText, type SyncPlan } from "./diff.ts";
import { DIFF_CASES, endpoint, GOLDEN_CASES, nodeInput, service } from "./golden-cases.ts";
import type { Ruleset } from "./nft-model.ts";
import { comparable, ReplayError, replay, stateOf } from "./nft-replay.ts";
import { renderRuleset } from "./ruleset.ts";

const tcp80 = { protocol: "TCP", port: 80, targetPort: 8080 } as const;

function cluster(
  count: number,
  endpointsOf = (i: number): Endpoint[] =>
    [1, 2, 3].map((j) => endpoint(`10.244.${i % 200}.${j + 10 * Math.floor(i / 200)}`)),
) {
  return nodeInput(
    Array.from({ length: count }, (_, i) => ({
      service: service(`svc-${i}`, [`10.96.${i >> 8}.${i & 255}`], [{ ...tcp80, nodePort: 30000 + i }]),
      endpoints: endpointsOf(i),
    })),
  );
}

/** The text of a partial sync; fails the test when the plan is something else. */
function partial(plan: SyncPlan): string {
  if (plan.kind !== "partial") throw new Error(`expected a partial sync, got ${plan.kind}`);
  return plan.text;
}

/** Applies `plan` to the state of `prev` with the transaction model and checks it reaches `next`. */
function expectReaches(prev: Ruleset, next: Ruleset, plan: SyncPlan): void {
  expect(plan.kind).not.toBe("full");
  const diff = planText(plan);
  expect(diff.startsWith("add table")).toBe(false);
  expect(comparable(replay(stateOf(prev), diff, `${next.family} ${next.table}`))).toEqual(
    comparable(stateOf(next)),
  );
}

describe("partial sync", () => {
  const input = cluster(1000);
  const prev = renderRuleset(input);

  test("one endpoint changed among 1,000 Services sends only that Service's map elements", () => {
    const services = input.services.map((s, i) =>
      i === 500 ? { ...s, endpoints: [endpoint("10.244.250.1"), ...s.endpoints.slice(1)] } : s,
    );
    const next = renderRuleset({ ...input, services }, prev);
    const plan = diffRulesets(prev, next);
    const diff = partial(plan);
    const lines = diff.trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(12);
    // svc-500 is 10.96.1.244, NodePort 30500, endpoints 10.244.100.21-23 (the first replaced).
    for (const line of lines)
      expect(line).toMatch(/^(add|delete) element .*(10\.96\.1\.244 |30500|10\.244\.(100\.21|250\.1) )/);
    expect(lines.filter((l) => l.includes("chain"))).toEqual([]);
    expect(diff).toContain("10.96.1.244 . 80 . 2 : 10.244.250.1 . 8080");
    expect(diff).toContain("30500 . 2 : 10.244.250.1 . 8080");
    // Reuse of the previous render is an optimisation only: a fresh render diffs the same.
    expect(diffRulesets(prev, renderRuleset({ ...input, services }))).toEqual(plan);
    expectReaches(prev, next, plan);
  });

  test("an endpoint count change moves the verdict elements to the other shared chain (delete + add)", () => {
    // svc-500 has 3 endpoints like every other Service; with a 4th, its ClusterIP and NodePort
    // elements must go to the 4-endpoint chains, which no Service used before.
    const services = input.services.map((s, i) =>
      i === 500 ? { ...s, endpoints: [...s.endpoints, endpoint("10.244.250.1")] } : s,
    );
    const next = renderRuleset({ ...input, services }, prev);
    const plan = diffRulesets(prev, next);
    const diff = partial(plan);
    const lines = diff.trimEnd().split("\n");
    const at = (line: string) => {
      const i = lines.indexOf(line);
      expect(i).toBeGreaterThanOrEqual(0);
      return i;
    };
    const addChain = at("add chain ip podnet endpoints-tcp-4");
    const addNodePortChain = at("add chain ip podnet nodeport-endpoints-tcp-4");
    const removeIp = at("delete element ip podnet service-ips { 10.96.1.244 . tcp . 80 }");
    const addIp = at("add element ip podnet service-ips { 10.96.1.244 . tcp . 80 : goto endpoints-tcp-4 }");
    const removeNodePort = at("delete element ip podnet service-nodeports { tcp . 30500 }");
    const addNodePort = at(
      "add element ip podnet service-nodeports { tcp . 30500 : goto nodeport-endpoints-tcp-4 }",
    );
    // Deletes before adds (an element key cannot be added twice); chains before what jumps to them.
    expect(removeIp).toBeLessThan(addIp);
    expect(removeNodePort).toBeLessThan(addNodePort);
    expect(addChain).toBeLessThan(addIp);
    expect(addNodePortChain).toBeLessThan(addNodePort);
    expect(lines.filter((l) => /chain .*(svc|ext)-/.test(l))).toEqual([]);
    expectReaches(prev, next, plan);
    // And back: the 4-endpoint chains are deleted once nothing jumps to them.
    const back = diffRulesets(next, renderRuleset(input, next));
    expect(partial(back)).toContain("delete chain ip podnet endpoints-tcp-4\n");
    expect(partial(back)).toContain("delete chain ip podnet nodeport-endpoints-tcp-4\n");
    expectReaches(next, renderRuleset(input, next), back);
  });

  test("the last endpoint leaving swaps the map elements for a no-endpoint entry", () => {
    const services = input.services.map((s, i) => (i === 7 ? { ...s, endpoints: [] } : s));
    const next = renderRuleset({ ...input, services }, prev);
    const plan = diffRulesets(prev, next);
    const diff = partial(plan);
    expect(diff).toContain("delete element ip podnet service-ips { 10.96.0.7 . tcp . 80 }\n");
    expect(diff).toContain("delete element ip podnet service-nodeports { tcp . 30007 }\n");
    expect(diff).toContain("add element ip podnet no-endpoint-nodeports { tcp . 30007 }\n");
    for (const line of diff.trimEnd().split("\n"))
      expect(line).toMatch(/default\/svc-7\/|10\.96\.0\.7 |30007|10\.244\.7\.\d+ \./);
    expectReaches(prev, next, plan);
  });

  test("a Service added and one removed send only their own chains and elements", () => {
    const services = [
      ...input.services.filter((_, i) => i !== 3),
      { service: service("new", ["10.96.200.1"], [tcp80]), endpoints: [endpoint("10.244.9.9")] },
    ];
    const next = renderRuleset({ ...input, services }, prev);
    const plan = diffRulesets(prev, next);
    const diff = partial(plan);
    for (const line of diff.trimEnd().split("\n"))
      expect(line).toMatch(
        /default\/svc-3\/|default\/new\/|10\.96\.0\.3\b|10\.96\.200\.1\b|30003|10\.244\.(3\.\d+|9\.9) \.|endpoints-tcp-1\b/,
      );
    // The new Service is the only one with one endpoint: its shared DNAT chain arrives with it.
    expect(diff).toContain("add chain ip podnet endpoints-tcp-1\n");
    expectReaches(prev, next, plan);
  });

  test("nothing changed, nothing sent", () => {
    expect(diffRulesets(prev, renderRuleset(input, prev))).toEqual({ kind: "none" });
    expect(diffRulesets(prev, renderRuleset(input))).toEqual({ kind: "none" });
  });

  for (const [name, { prev: before, next: after }] of Object.entries(DIFF_CASES)) {
    test(`reaches the next state: ${name}`, () => {
      const p = renderRuleset(before);
      const n = renderRuleset(after, p);
      expectReaches(p, n, diffRulesets(p, n));
    });
  }

  test("seeded random changes always reach the next state in a valid order", () => {
    const random = mulberry32(77);
    const pick = (n: number) => Math.floor(random() * n);
    const pool = (i: number): Endpoint[] =>
      Array.from({ length: pick(4) }, () => endpoint(`10.244.${i % 4}.${1 + pick(6)}`));
    let input = cluster(40, pool);
    let prev = renderRuleset(input);
    for (let round = 0; round < 300; round++) {
      const services = input.services.flatMap((s, i) => {
        const r = random();
        if (r < 0.05) return [];
        if (r < 0.2) return [{ ...s, endpoints: pool(i) }];
        if (r < 0.25) {
          const affinity = { kind: "ClientIP" as const, timeoutSeconds: 10 * (1 + pick(3)) };
          return [{ ...s, service: { ...s.service, sessionAffinity: affinity } }];
        }
        return [s];
      });
      if (random() < 0.3) {
        const id = 1000 + round;
        services.push({ service: service(`n${id}`, [`10.96.9.${id % 250}`], [tcp80]), endpoints: pool(id) });
      }
      const nonMasqueradeCidrs = [[], ["10.0.0.0/8"], ["10.96.0.0/12", "192.168.0.0/16"]][pick(3)] ?? [];
      input = { ...input, services, nonMasqueradeCidrs, masqueradeEgress: random() < 0.5 };
      const next = renderRuleset(input, prev);
      expectReaches(prev, next, diffRulesets(prev, next));
      prev = next;
    }
  });
});

describe("full sync", () => {
  test("replaces podnet's table and nothing else", () => {
    const { kind } = fullSync(renderRuleset(GOLDEN_CASES["tcp-two-endpoints"]));
    const text = planText(fullSync(renderRuleset(GOLDEN_CASES["tcp-two-endpoints"])));
    expect(kind).toBe("full");
    expect(text.startsWith("add table ip podnet\ndelete table ip podnet\ntable ip podnet {\n")).toBe(true);
    expect(text.match(/^\S.*$/gm)).toEqual([
      "add table ip podnet",
      "delete table ip podnet",
      "table ip podnet {",
      "}",
    ]);
  });

  test("is what a partial sync falls back to when a change cannot be made in place", () => {
    const v4 = renderRuleset(GOLDEN_CASES["tcp-two-endpoints"]);
    const v6 = renderRuleset(GOLDEN_CASES.ipv6);
    expect(diffRulesets(v4, v6)).toEqual(fullSync(v6));
    const chains = new Map(v4.chains);
    const output = chains.get("nat-output");
    if (!output?.hook) throw new Error("nat-output is a base chain");
    chains.set("nat-output", { ...output, hook: { ...output.hook, priority: -150 } });
    const moved: Ruleset = { ...v4, chains };
    expect(diffRulesets(moved, v4)).toEqual(fullSync(v4));
  });
});

describe("the transaction model", () => {
  test("refuses a transaction that deletes a chain something still jumps to", () => {
    const p = renderRuleset(DIFF_CASES["last-endpoint-gone"].prev);
    const n = renderRuleset(DIFF_CASES["last-endpoint-gone"].next);
    const lines = partial(diffRulesets(p, n)).trimEnd().split("\n");
    const reordered = [...lines.filter((l) => l.startsWith("delete chain")), ...lines].join("\n");
    expect(() => replay(stateOf(p), reordered, "ip podnet")).toThrow(ReplayError);
    expect(() =>
      replay(stateOf(p), "delete element ip podnet cluster-ips { 10.96.0.99 }", "ip podnet"),
    ).toThrow(
      'Cannot apply "delete element ip podnet cluster-ips { 10.96.0.99 }": element 10.96.0.99 does not exist',
    );
  });
});
