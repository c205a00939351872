/**
 * Golden tests: each case of golden-cases.ts renders to exactly the text in golden/NAME.nft (the
 * integration test loads those files into a kernel with `nft --check`). After an intended change
 * of the rendering, regenerate them and review the diff:
 *
 *   UPDATE_GOLDEN=1 node_modules/.bin/bun test src/proxy/ruleset.test.ts
 *
 * The other tests check behaviour on the data: what is looked up where, what is rejected and what
 * is masqueraded (render-services.test.ts: reuse of the previous render, and scale).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fullSync, planText } from "./diff.ts";
import { endpoint, GOLDEN_CASES, nodeInput, POD_CIDR, SERVICE_CIDR, service } from "./golden-cases.ts";
import {
  allChains,
  type NftChain,
  type NftMap,
  type NftSet,
  type Ruleset,
  withServiceElements,
} from "./nft-model.ts";
import { NAMES } from "./nft-names.ts";
import { type ProxyInput, renderRuleset } from "./ruleset.ts";

const GOLDEN_DIR = join(import.meta.dir, "golden");
const update = process.env.UPDATE_GOLDEN === "1";

describe("golden rulesets", () => {
  for (const [name, input] of Object.entries(GOLDEN_CASES)) {
    test(name, () => {
      const ruleset = renderRuleset(input);
      expect(ruleset.problems).toEqual([]);
      const text = planText(fullSync(ruleset));
      const path = join(GOLDEN_DIR, `${name}.nft`);
      if (update) writeFileSync(path, text);
      expect(text).toBe(readFileSync(path, "utf8"));
    });
  }

  test("every golden file belongs to a case", () => {
    const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith(".nft"));
    expect(files.sort()).toEqual(
      Object.keys(GOLDEN_CASES)
        .map((n) => `${n}.nft`)
        .sort(),
    );
  });
});

/** A shared map or set as the kernel holds it: with every Service's elements. */
const shared = (r: Ruleset, name: string) => {
  const found = r.sets.get(name);
  if (found === undefined) throw new Error(`no set ${name}`);
  return withServiceElements(r, found);
};
const map = (r: Ruleset, name: string) => shared(r, name) as NftMap;
const set = (r: Ruleset, name: string) => shared(r, name) as NftSet;
const chain = (r: Ruleset, name: string): NftChain => {
  for (const c of allChains(r)) if (c.name === name) return c;
  throw new Error(`no chain ${name}`);
};
/** The chain a verdict (`goto NAME`) leads to. */
const target = (r: Ruleset, verdict: string | undefined) => chain(r, (verdict ?? "").replace(/^goto /, ""));
const tcp80 = { protocol: "TCP", port: 80, targetPort: 8080 } as const;

/**
 * Follows a ClusterIP lookup the way the kernel does: the verdict-map element's
 * `goto endpoints-PROTO-N`, that shared chain's `numgen random mod N` key into
 * `service-endpoints-PROTO`. Returns the N targets in index order (each index is drawn with
 * probability 1/N).
 */
function clusterIpTargets(r: Ruleset, key: string): string[] {
  const shared = target(r, map(r, NAMES.serviceIps).elements.get(key));
  expect(shared.rules).toHaveLength(1);
  const [ip, proto, port] = key.split(" . ");
  const mod = new RegExp(
    `^dnat ip6? to ip6? daddr \\. ${proto} dport \\. numgen random mod (\\d+) map @service-endpoints-${proto}$`,
  ).exec(shared.rules[0] ?? "");
  expect(mod).not.toBeNull();
  const n = Number(mod?.[1]);
  expect(shared.name).toBe(`endpoints-${proto}-${n}`);
  const elements = map(r, `service-endpoints-${proto}`).elements;
  key = `${ip} . ${port}`;
  const targets = Array.from({ length: n }, (_, i) => elements.get(`${key} . ${i}`) as string);
  expect(targets.every((t) => t !== undefined)).toBe(true);
  expect(elements.has(`${key} . ${n}`)).toBe(false);
  return targets;
}

describe("service dispatch", () => {
  test("one verdict-map element per ClusterIP port leads to the shared chain, which DNATs through the endpoint map", () => {
    const r = renderRuleset(GOLDEN_CASES["tcp-two-endpoints"]);
    expect(map(r, NAMES.serviceIps).elements.size).toBe(1);
    expect(clusterIpTargets(r, "10.96.0.10 . tcp . 80")).toEqual(["10.244.1.5 . 8080", "10.244.2.7 . 8080"]);
    expect(chain(r, "endpoints-tcp-2").rules).toEqual([
      "dnat ip to ip daddr . tcp dport . numgen random mod 2 map @service-endpoints-tcp",
    ]);
  });

  test("every endpoint is reachable by exactly one index, so the random choice is uniform", () => {
    for (let n = 1; n <= 12; n++) {
      const eps = Array.from({ length: n }, (_, i) => endpoint(`10.244.0.${i + 1}`));
      const r = renderRuleset(nodeInput([{ service: service("s", ["10.96.0.1"], [tcp80]), endpoints: eps }]));
      const targets = clusterIpTargets(r, "10.96.0.1 . tcp . 80");
      expect(new Set(targets).size).toBe(n);
      expect(targets.sort()).toEqual(eps.map((e) => `${e.ip} . 8080`).sort());
    }
  });

  test("Services share the DNAT chain of their endpoint count; without affinity a Service has no chain", () => {
    const input = nodeInput(
      Array.from({ length: 30 }, (_, i) => ({
        service: service(`s${i}`, [`10.96.1.${i}`], [tcp80]),
        endpoints: Array.from({ length: (i % 3) + 1 }, (_, j) => endpoint(`10.244.${j}.${i}`)),
      })),
    );
    const r = renderRuleset(input);
    const shared = [...r.chains.keys()].filter((n) => n.startsWith("endpoints-"));
    expect(shared.sort()).toEqual(["endpoints-tcp-1", "endpoints-tcp-2", "endpoints-tcp-3"]);
    for (const group of r.services.values()) expect(group.chains).toEqual([]);
    expect(map(r, "service-endpoints-tcp").elements.size).toBe(10 * (1 + 2 + 3));
  });

  // nft 1.0.6 dumps every chain of the table into its cache before any transaction that adds or
  // deletes something, so each chain makes every partial sync slower (issue 14: 64–95 ms instead
  // of 18–28 ms for two lines at 10,000 Services with a chain per Service).
  test("the chain count does not grow with Services without affinity (nft lists every chain before each transaction)", () => {
    const chainsFor = (count: number) => {
      const input = nodeInput(
        Array.from({ length: count }, (_, i) => ({
          service: service(`s${i}`, [`10.96.${i >> 8}.${i & 255}`], [{ ...tcp80, nodePort: 30000 + i }]),
          endpoints: Array.from({ length: (i % 3) + 1 }, (_, j) => endpoint(`10.244.${j}.${i & 255}`)),
        })),
      );
      const r = renderRuleset(input);
      expect(r.problems).toEqual([]);
      expect(map(r, NAMES.serviceIps).elements.size).toBe(count);
      expect(map(r, NAMES.serviceNodeports).elements.size).toBe(count);
      return [...allChains(r)].map((c) => c.name).sort();
    };
    const hundred = chainsFor(100);
    expect(chainsFor(1000)).toEqual(hundred);
    expect(hundred).toContain("nodeport-endpoints-tcp-3");
    expect(hundred.filter((n) => /^(svc|ext|ep)-/.test(n))).toEqual([]);
  });

  test("no per-service sets or anonymous maps (the kernel cost of those grows with their number)", () => {
    const r = renderRuleset(GOLDEN_CASES["multi-protocol"]);
    for (const group of r.services.values()) {
      expect(group.sets).toEqual([]);
      for (const c of group.chains) for (const rule of c.rules) expect(rule).not.toContain("{");
    }
  });

  test("a pod reaching itself through its Service is masqueraded (hairpin pairs), others are not", () => {
    const r = renderRuleset(GOLDEN_CASES["tcp-two-endpoints"]);
    expect(set(r, NAMES.hairpin).elements).toEqual(["10.244.1.5 . 10.244.1.5", "10.244.2.7 . 10.244.2.7"]);
    expect(chain(r, NAMES.natPostrouting).rules[0]).toStartWith("meta mark & 0x00004000 == 0x00004000");
    expect(chain(r, NAMES.natPostrouting).rules[1]).toBe(
      "ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random",
    );
    // Endpoints of a Service without a ClusterIP port (none here) and pods of no Service stay out.
    const none = renderRuleset(GOLDEN_CASES["no-endpoints"]);
    expect(set(none, NAMES.hairpin).elements).toEqual([]);
    // With the node named, only its own pods can hairpin through its table.
    const eps = [
      { ip: "10.244.1.5", node: "node1", pod: "default/a" },
      { ip: "10.244.2.7", node: "node2", pod: "default/b" },
    ];
    const input = nodeInput([{ service: service("web", ["10.96.0.10"], [tcp80]), endpoints: eps }]);
    const node1 = renderRuleset({ ...input, nodeName: "node1" });
    expect(set(node1, NAMES.hairpin).elements).toEqual(["10.244.1.5 . 10.244.1.5"]);
    // A pod moving to this node changes the render even though its address stayed the same.
    const moved = eps.map((e) => ({ ...e, node: "node1" }));
    const again = renderRuleset(
      { ...input, nodeName: "node1", services: [{ ...input.services[0], endpoints: moved }] } as ProxyInput,
      node1,
    );
    expect(set(again, NAMES.hairpin).elements).toEqual([
      "10.244.1.5 . 10.244.1.5",
      "10.244.2.7 . 10.244.2.7",
    ]);
  });

  test("ClusterIP clients outside the pod CIDRs are marked for masquerade before the lookup", () => {
    const r = renderRuleset(GOLDEN_CASES["tcp-two-endpoints"]);
    expect(chain(r, NAMES.services).rules[0]).toBe(
      "ip daddr @cluster-ips ip saddr != @pod-cidrs meta mark set meta mark | 0x00004000",
    );
  });

  test("NodePorts enter through a chain that always marks for masquerade, then DNAT by node port", () => {
    const r = renderRuleset(GOLDEN_CASES.nodeport);
    expect(set(r, NAMES.nodeportIPs).elements).toEqual(["192.0.2.11", "198.51.100.11"]);
    const shared = target(r, map(r, NAMES.serviceNodeports).elements.get("tcp . 30080"));
    expect(shared.name).toBe("nodeport-endpoints-tcp-2");
    expect(shared.rules).toEqual([
      "meta mark set meta mark | 0x00004000",
      "dnat ip to tcp dport . numgen random mod 2 map @nodeport-endpoints-tcp",
    ]);
    const np = map(r, "nodeport-endpoints-tcp").elements;
    expect([np.get("30080 . 0"), np.get("30080 . 1")]).toEqual(clusterIpTargets(r, "10.96.0.10 . tcp . 80"));
    const any = renderRuleset(GOLDEN_CASES["nodeport-any-local-address"]);
    expect(chain(any, NAMES.services).rules[2]).toStartWith("fib daddr type local ip daddr != 127.0.0.0/8 ");
  });

  test("ClientIP affinity consults one timed set per endpoint, then picks uniformly at random", () => {
    const r = renderRuleset(GOLDEN_CASES["client-ip-affinity"]);
    const svc = target(r, map(r, NAMES.serviceIps).elements.get("10.96.0.40 . tcp . 80"));
    expect(svc.rules[0]).toMatch(/^ip saddr @aff-\S+ goto ep-\S+$/);
    expect(svc.rules[1]).toMatch(/^ip saddr @aff-\S+ goto ep-\S+$/);
    expect(svc.rules[2]).toStartWith("numgen random mod 2 == 0 goto ep-");
    const ep = target(r, svc.rules[3]);
    // The NodePort of an affinity Service marks in its own chain, then joins the service chain.
    const stickyNodePort = renderRuleset(
      nodeInput([
        {
          service: service("s", ["10.96.0.1"], [{ ...tcp80, nodePort: 30001 }], {
            kind: "ClientIP",
            timeoutSeconds: 60,
          }),
          endpoints: [endpoint("10.244.0.1")],
        },
      ]),
    );
    const ext = target(
      stickyNodePort,
      map(stickyNodePort, NAMES.serviceNodeports).elements.get("tcp . 30001"),
    );
    expect(ext.name).toStartWith("ext-");
    expect(ext.rules).toEqual([
      "meta mark set meta mark | 0x00004000",
      map(stickyNodePort, NAMES.serviceIps).elements.get("10.96.0.1 . tcp . 80") ?? "",
    ]);
    expect(ext.rules[1]).toStartWith("goto svc-");
    expect(ep.rules[0]).toMatch(/^update @aff-\S+ \{ ip saddr \}$/);
    expect(ep.rules[1]).toMatch(/^meta l4proto tcp dnat to 10\.244\.\d+\.\d+:8080$/);
    const affinity = [...r.services.values()].flatMap((g) => g.sets);
    expect(affinity.map((s) => [s.flags, s.timeoutSeconds])).toEqual([
      [["dynamic", "timeout"], 600],
      [["dynamic", "timeout"], 600],
    ]);
    for (let n = 1; n <= 12; n++) {
      const eps = Array.from({ length: n }, (_, i) => endpoint(`10.244.0.${i + 1}`));
      const sticky = service("s", ["10.96.0.1"], [tcp80], { kind: "ClientIP", timeoutSeconds: 60 });
      const a = renderRuleset(nodeInput([{ service: sticky, endpoints: eps }]));
      const rules = target(a, map(a, NAMES.serviceIps).elements.get("10.96.0.1 . tcp . 80")).rules.slice(n);
      let reach = 1;
      const chance = rules.map((rule) => {
        const mod = /^numgen random mod (\d+) == 0 goto/.exec(rule);
        const p = mod ? reach / Number(mod[1]) : reach;
        reach -= p;
        return p;
      });
      expect(chance).toHaveLength(n);
      for (const p of chance) expect(p).toBeCloseTo(1 / n, 12);
    }
  });
});

describe("rejects", () => {
  test("a Service without endpoints has no map element, so its ClusterIP is rejected after DNAT", () => {
    const r = renderRuleset(GOLDEN_CASES["no-endpoints"]);
    expect(map(r, NAMES.serviceIps).elements.size).toBe(0);
    expect(set(r, NAMES.clusterIPs).elements).toEqual(["10.96.0.30", "10.96.0.31"]);
    expect(set(r, NAMES.noEndpointNodeports).elements).toEqual(["tcp . 30081"]);
    expect(chain(r, NAMES.rejectCheck).rules[0]).toBe("ip daddr @cluster-ips goto reject-service");
    expect(chain(r, NAMES.reject).rules).toEqual([
      "meta l4proto tcp reject with tcp reset",
      "reject with icmp type port-unreachable",
    ]);
  });

  test("the reject chains are filter chains that run just after DNAT, for forwarded and local traffic", () => {
    const r = renderRuleset(nodeInput([]));
    for (const name of [NAMES.filterPrerouting, NAMES.filterOutput]) {
      expect(chain(r, name).hook?.type).toBe("filter");
      expect(chain(r, name).hook?.priority).toBe(-90);
    }
    expect(chain(r, NAMES.natPrerouting).hook?.priority).toBe(-100);
    expect(chain(r, NAMES.natOutput).hook?.priority).toBe(-100);
  });
});

describe("egress masquerade", () => {
  const postrouting = (input: ProxyInput) => chain(renderRuleset(input), NAMES.natPostrouting).rules;

  test("is one set-based rule, however many pods and Services there are", () => {
    const many = Array.from({ length: 50 }, (_, i) => ({
      service: service(`s${i}`, [`10.96.1.${i}`], [tcp80]),
      endpoints: [endpoint(`10.244.3.${i}`)],
    }));
    const rules = postrouting(nodeInput(many));
    expect(rules).toHaveLength(3);
    expect(rules[2]).toBe("ip saddr @pod-cidrs ip daddr != @no-masquerade masquerade fully-random");
    expect(postrouting(nodeInput(many, { masqueradeEgress: false }))).toHaveLength(2);
  });

  test("pod CIDRs are never masqueraded, even when left out of the list; nested prefixes fold", () => {
    const r = renderRuleset(
      nodeInput([], { nonMasqueradeCidrs: ["10.0.0.0/8", SERVICE_CIDR, "192.168.0.0/16"] }),
    );
    expect(set(r, NAMES.noMasquerade).elements).toEqual(["10.0.0.0/8", "192.168.0.0/16"]);
    const bare = renderRuleset(nodeInput([], { nonMasqueradeCidrs: [] }));
    expect(set(bare, NAMES.noMasquerade).elements).toEqual([POD_CIDR]);
  });
});

describe("input that cannot be rendered", () => {
  test("is reported and skipped; the rest still renders", () => {
    const good = service("good", ["10.96.0.1"], [tcp80]);
    const r = renderRuleset(
      nodeInput(
        [
          {
            service: good,
            endpoints: [endpoint("10.244.1.1"), endpoint("10.244.1.300"), endpoint("fd00::1")],
          },
          { service: service("bad-ip", ["10.96.0.999"], [tcp80]), endpoints: [] },
          { service: service("clash", ["10.96.0.1"], [tcp80]), endpoints: [] },
          {
            service: service("port0", ["10.96.0.2"], [{ protocol: "TCP", port: 0, targetPort: 1 }]),
            endpoints: [],
          },
        ],
        { podCidrs: [POD_CIDR, "10.300.0.0/16"] },
      ),
    );
    expect(r.problems.map((p) => [p.kind, p.subject])).toEqual([
      ["invalid-cidr", "10.300.0.0/16"],
      ["invalid-cluster-ip", "default/bad-ip"],
      ["invalid-endpoint-ip", "default/good"],
      ["duplicate-service-port", "default/good"],
      ["invalid-port", "default/port0"],
    ]);
    // "clash" sorts before "good" and keeps the port.
    expect(r.problems[3]?.message).toBe(
      'Service "default/good": port TCP/80 on 10.96.0.1 is already used by "default/clash"; the port is skipped',
    );
    expect(map(r, NAMES.serviceIps).elements.size).toBe(0);
    // A Service whose ports are all unusable still owns its ClusterIP: it is rejected, not routed on.
    expect(set(r, NAMES.clusterIPs).elements).toEqual(["10.96.0.1", "10.96.0.2"]);
  });

  test("a NodePort taken by another Service is reported", () => {
    const a = service("a", ["10.96.0.1"], [{ ...tcp80, nodePort: 30001 }]);
    const b = service("b", ["10.96.0.2"], [{ ...tcp80, nodePort: 30001 }]);
    const r = renderRuleset(
      nodeInput([
        { service: b, endpoints: [endpoint("10.244.2.2")] },
        { service: a, endpoints: [endpoint("10.244.1.1")] },
      ]),
    );
    expect(r.problems.map((p) => p.kind)).toEqual(["duplicate-node-port"]);
    // "a" sorts first and keeps the NodePort: its endpoint is the one behind it.
    expect(map(r, NAMES.serviceNodeports).elements.get("tcp . 30001")).toBe("goto nodeport-endpoints-tcp-1");
    expect([...map(r, "nodeport-endpoints-tcp").elements]).toEqual([["30001 . 0", "10.244.1.1 . 8080"]]);
  });
});
