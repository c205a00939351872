import { describe, expect, test } from "bun:test";
import type { Endpoint, Service } from "../../src/k8s/service-model.ts";
import type { ProxyInput } from "../../src/proxy/ruleset.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import {
  endpointChainName,
  IPTABLES_TABLE,
  renderIptablesStructure,
  serviceChainName,
} from "./iptables-structure.ts";
import { benchInput } from "./service-input.ts";

/** chain name → { hook line, rules } from the rendered text. */
function parseChains(text: string): Map<string, { hook?: string; rules: string[] }> {
  const chains = new Map<string, { hook?: string; rules: string[] }>();
  let current: { hook?: string; rules: string[] } | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const open = /^chain (\S+) \{$/.exec(line);
    if (open?.[1]) {
      current = { rules: [] };
      expect(chains.has(open[1])).toBe(false);
      chains.set(open[1], current);
    } else if (line === "}") current = undefined;
    else if (current && line.startsWith("type ")) current.hook = line;
    else if (current && line !== "") current.rules.push(line);
  }
  return chains;
}

function randomInput(seed: number): ProxyInput {
  const random = mulberry32(seed);
  const services: { service: Service; endpoints: Endpoint[] }[] = [];
  const n = 1 + Math.floor(random() * 30);
  for (let s = 0; s < n; s++) {
    const ports = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, p) => ({
      name: `p${p}`,
      protocol: (["TCP", "UDP", "SCTP"] as const)[Math.floor(random() * 3)] ?? "TCP",
      port: 80 + p,
      targetPort: 8000 + p,
    }));
    const endpoints = Array.from({ length: Math.floor(random() * 12) }, (_, e) => ({
      ip: `10.244.${s}.${e + 1}`,
      node: "n1",
      pod: `ns/pod-${s}-${e}`,
    }));
    services.push({
      service: {
        namespace: "ns",
        name: `svc${s}`,
        clusterIPs: [`10.96.0.${s + 1}`],
        ports,
        sessionAffinity: { kind: "None" },
        selector: { app: `svc${s}` },
      },
      endpoints,
    });
  }
  return {
    family: "ip",
    services,
    nodeIPs: [],
    podCidrs: ["10.244.0.0/16"],
    nonMasqueradeCidrs: [],
    masqueradeEgress: true,
  };
}

describe("renderIptablesStructure", () => {
  test("chain names hash like kube-proxy's (its own test fixtures)", () => {
    // pkg/proxy/iptables/proxier_test.go: ns1/svc1:p80 and its endpoint 10.180.0.1:80.
    expect(serviceChainName("ns1/svc1:p80", "TCP")).toBe("KUBE-SVC-XPGD46QRK7WJZT7O");
    expect(endpointChainName("ns1/svc1:p80", "TCP", "10.180.0.1:80")).toBe("KUBE-SEP-SXIVWICOYRO3J4NJ");
  });

  test("KUBE-SERVICES is one linear rule per Service port with endpoints, in input order", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const input = randomInput(seed);
      const out = renderIptablesStructure(input);
      const chains = parseChains(out.text);
      const services = chains.get("KUBE-SERVICES")?.rules ?? [];
      const expected = input.services.flatMap(({ service, endpoints }) =>
        endpoints.length === 0
          ? []
          : service.ports.map(
              (p) =>
                `ip daddr ${service.clusterIPs[0]} ${p.protocol.toLowerCase()} dport ${p.port} jump ${serviceChainName(`ns/${service.name}:${p.name}`, p.protocol)}`,
            ),
      );
      expect(services).toEqual([...expected, "fib daddr type local jump KUBE-NODEPORTS"]);
      expect(out.serviceRules).toBe(expected.length);
      const rejects = input.services.flatMap(({ service, endpoints }) =>
        endpoints.length > 0
          ? []
          : service.ports.map(
              (p) => `ip daddr ${service.clusterIPs[0]} ${p.protocol.toLowerCase()} dport ${p.port} reject`,
            ),
      );
      expect(chains.get("KUBE-SERVICES-FILTER")?.rules).toEqual(rejects);
      expect(out.chains).toBe(chains.size);
      expect(out.rules).toBe([...chains.values()].reduce((n, c) => n + c.rules.length, 0));
    }
  });

  test("every endpoint is chosen with probability 1/n and DNATs to its target port", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const input = randomInput(seed);
      const chains = parseChains(renderIptablesStructure(input).text);
      for (const { service, endpoints } of input.services) {
        if (endpoints.length === 0) continue;
        for (const port of service.ports) {
          const svc = chains.get(serviceChainName(`ns/${service.name}:${port.name}`, port.protocol));
          expect(svc).toBeDefined();
          const [masq, ...picks] = svc?.rules ?? [];
          expect(masq).toBe(
            `ip saddr != 10.244.0.0/16 ip daddr ${service.clusterIPs[0]} ${port.protocol.toLowerCase()} dport ${port.port} jump KUBE-MARK-MASQ`,
          );
          expect(picks).toHaveLength(endpoints.length);
          let notYet = 1;
          picks.forEach((rule, i) => {
            const m = /^(?:numgen random mod (\d+) == 0 )?jump (\S+)$/.exec(rule);
            expect(m).not.toBeNull();
            const p = m?.[1] === undefined ? 1 : 1 / Number(m[1]);
            expect(notYet * p).toBeCloseTo(1 / endpoints.length, 12);
            notYet *= 1 - p;
            const ep = endpoints[i] as Endpoint;
            const sep = chains.get(m?.[2] ?? "");
            expect(sep?.rules).toEqual([
              `ip saddr ${ep.ip} jump KUBE-MARK-MASQ`,
              `meta l4proto ${port.protocol.toLowerCase()} dnat to ${ep.ip}:${port.targetPort}`,
            ]);
          });
          expect(notYet).toBeCloseTo(0, 12);
        }
      }
    }
  });

  test("every jump lands on a chain of the table, and the hooks are kube-proxy's", () => {
    const out = renderIptablesStructure(
      benchInput({ services: 50, endpointsPerService: 3, nodeIP: "198.51.100.1" }),
    );
    const chains = parseChains(out.text);
    for (const { rules } of chains.values())
      for (const rule of rules) {
        const target = /(?:jump|goto) (\S+)$/.exec(rule)?.[1];
        if (target !== undefined) expect(chains.has(target)).toBe(true);
      }
    expect(chains.get("nat-output")).toEqual({
      hook: "type nat hook output priority -100; policy accept;",
      rules: ["jump KUBE-SERVICES"],
    });
    expect(chains.get("nat-prerouting")?.rules).toEqual(["jump KUBE-SERVICES"]);
    expect(chains.get("KUBE-POSTROUTING")?.rules).toEqual([
      "meta mark & 0x00004000 != 0x00004000 return",
      "meta mark set meta mark ^ 0x00004000",
      "masquerade fully-random",
    ]);
    // 50 Services: one service chain and three endpoint chains each, plus 10 fixed chains.
    expect(out.chains).toBe(50 * 4 + 10);
    expect(out.text.startsWith(`add table ip ${IPTABLES_TABLE}\ndelete table ip ${IPTABLES_TABLE}\n`)).toBe(
      true,
    );
  });

  test("several pod CIDRs are one anonymous set; none means no masquerade rule", () => {
    const input = benchInput({ services: 1, endpointsPerService: 1, nodeIP: "198.51.100.1" });
    const svc = serviceChainName("bench/svc-00000:http", "TCP");
    const two = parseChains(
      renderIptablesStructure({ ...input, podCidrs: ["10.240.0.0/12", "10.0.0.0/16"] }).text,
    ).get(svc);
    expect(two?.rules[0]).toStartWith(
      "ip saddr != { 10.240.0.0/12, 10.0.0.0/16 } ip daddr 10.96.0.1 tcp dport 80",
    );
    const none = parseChains(renderIptablesStructure({ ...input, podCidrs: [] }).text).get(svc);
    expect(none?.rules).toHaveLength(1);
    expect(none?.rules[0]).toStartWith("jump KUBE-SEP-");
  });

  test("refuses IPv6 input", () => {
    expect(() => renderIptablesStructure({ ...randomInput(1), family: "ip6" })).toThrow(
      'The iptables-structure ruleset is IPv4 only; got family "ip6"',
    );
  });
});
