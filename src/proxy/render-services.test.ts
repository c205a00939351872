/**
 * Reuse of the previous render (render-services.ts): a re-render after small edits gives exactly
 * what a fresh render gives, and at 10,000 Services it reuses every unchanged Service's entry.
 * A headless Service is never rendered.
 */
import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { type Endpoint, PROTOCOLS, type Service, type ServicePort } from "../k8s/service-model.ts";
import { fullSync, planText } from "./diff.ts";
import { endpoint, nodeInput, service } from "./golden-cases.ts";
import { type NftMap, type Ruleset, withServiceElements } from "./nft-model.ts";
import { NAMES } from "./nft-names.ts";
import { renderNft } from "./render-nft.ts";
import { type ProxyInput, renderRuleset } from "./ruleset.ts";

const tcp80 = { protocol: "TCP", port: 80, targetPort: 8080 } as const;

/** A shared map as the kernel holds it: with every Service's elements. */
function map(r: Ruleset, name: string): NftMap {
  const found = r.sets.get(name);
  if (found?.kind !== "map") throw new Error(`no map ${name}`);
  return withServiceElements(r, found) as NftMap;
}

/** A random cluster: Services with 0–4 endpoints from a small pool, some NodePorts and affinity. */
function randomInput(random: () => number, count: number): ProxyInput {
  const pick = (n: number) => Math.floor(random() * n);
  const services = Array.from({ length: count }, (_, i) => {
    const protocol = PROTOCOLS[pick(3)] ?? "TCP";
    const ports: ServicePort[] = [{ protocol, port: 80 + pick(3), targetPort: 8000 + pick(3) }];
    const withNodePort = random() < 0.3 ? ports.map((p) => ({ ...p, nodePort: 30000 + pick(40) })) : ports;
    const affinity =
      random() < 0.2
        ? { kind: "ClientIP" as const, timeoutSeconds: 60 * (1 + pick(2)) }
        : { kind: "None" as const };
    const endpoints: Endpoint[] = Array.from({ length: pick(5) }, () =>
      endpoint(`10.244.${pick(3)}.${1 + pick(20)}`),
    );
    const svc: Service = service(`s${i}`, [`10.96.0.${1 + pick(count * 2)}`], withNodePort, affinity);
    return { service: svc, endpoints };
  });
  return nodeInput(services);
}

/** One small edit of one field, the kind of change a watch event brings. */
function mutate(random: () => number, entry: ProxyInput["services"][number]): ProxyInput["services"][number] {
  const pick = (n: number) => Math.floor(random() * n);
  const s = entry.service;
  const port = s.ports[0] as ServicePort;
  const withPort = (p: Partial<ServicePort>) => ({ ...entry, service: { ...s, ports: [{ ...port, ...p }] } });
  switch (pick(7)) {
    case 0:
      return { ...entry, endpoints: [...entry.endpoints.slice(1), endpoint(`10.244.9.${1 + pick(20)}`)] };
    case 1:
      return withPort({ targetPort: port.targetPort + 1 });
    case 2:
      return withPort({ nodePort: 30000 + pick(40) });
    case 3:
      return withPort({ protocol: port.protocol === "TCP" ? "UDP" : "TCP" });
    case 4:
      return { ...entry, service: { ...s, clusterIPs: [`10.96.0.${1 + pick(60)}`] } };
    case 5:
      return {
        ...entry,
        service: { ...s, sessionAffinity: { kind: "ClientIP", timeoutSeconds: 30 + pick(3) } },
      };
    default:
      return { ...entry, service: { ...s, sessionAffinity: { kind: "None" } } };
  }
}

describe("reuse of the previous render", () => {
  test("gives exactly what a fresh render gives (seeded random edits)", () => {
    const random = mulberry32(20240611);
    let input = randomInput(random, 30);
    let previous = renderRuleset(input);
    for (let round = 0; round < 300; round++) {
      const services = input.services.map((s) => (random() < 0.1 ? mutate(random, s) : s));
      input = { ...input, services };
      const reused = renderRuleset(input, previous);
      const fresh = renderRuleset(input);
      expect(renderNft(reused)).toBe(renderNft(fresh));
      expect(reused.problems).toEqual(fresh.problems);
      previous = reused;
    }
  });
});

describe("scale", () => {
  const big = (count: number, perService: number): ProxyInput =>
    nodeInput(
      Array.from({ length: count }, (_, i) => ({
        service: service(`svc-${i}`, [`10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`], [tcp80]),
        endpoints: Array.from({ length: perService }, (_, j) => {
          const x = i * perService + j;
          return endpoint(`10.${128 + (x >> 16)}.${(x >> 8) & 255}.${x & 255}`);
        }),
      })),
      { podCidrs: ["10.128.0.0/9"] },
    );

  test("10,000 Services × 10 endpoints render, and a re-render reuses all but the changed one", () => {
    const input = big(10_000, 10);
    const r = renderRuleset(input);
    const text = renderNft(r);
    expect(map(r, NAMES.serviceIps).elements.size).toBe(10_000);
    expect(map(r, "service-endpoints-tcp").elements.size).toBe(100_000);
    expect(text.split("\n").filter((l) => / \. 80 \. \d+ : /.test(l)).length).toBe(100_000);

    // One endpoint changes: every other Service's rules are reused as they are.
    const services = input.services.map((s, i) => (i === 42 ? { ...s, endpoints: s.endpoints.slice(1) } : s));
    const next = renderRuleset({ ...input, services }, r);
    const reused = [...next.services]
      .filter(([key, memo]) => r.services.get(key) === memo)
      .map(([key]) => key);
    expect(reused).toHaveLength(9_999);
    expect(reused).not.toContain("default/svc-42");
  });
});

describe("headless Services", () => {
  test("a headless Service renders nothing: no ClusterIP to reject, no NodePort, no endpoint", () => {
    const web = { service: service("web", ["10.96.0.10"], [tcp80]), endpoints: [endpoint("10.244.1.5")] };
    const db = {
      service: { ...service("db", [], [{ ...tcp80, nodePort: 30080 }]), headless: true as const },
      endpoints: [endpoint("10.244.1.9")],
    };
    const text = (input: ProxyInput) => planText(fullSync(renderRuleset(input)));
    expect(text(nodeInput([web, db]))).toBe(text(nodeInput([web])));
    // Even a hand-made one that kept an address: headless wins, and nothing of it is rendered.
    const kept = { ...db, service: { ...db.service, clusterIPs: ["10.96.0.11"] } };
    const r = renderRuleset(nodeInput([web, kept]));
    expect(r.problems).toEqual([]);
    expect(planText(fullSync(r))).toBe(text(nodeInput([web])));
  });
});
