/**
 * The comparison ruleset (pure): the same Services laid out as kube-proxy's iptables mode lays out
 * its nat table, written in nft syntax so both subjects run on the same kernel engine and differ
 * only in structure. What matters for connection setup is kept exactly:
 *
 * - `KUBE-SERVICES` holds one rule per Service port, `ip daddr X tcp dport Y jump KUBE-SVC-…`,
 *   matched one after another, so a new connection to the last Service walks all of them;
 * - `KUBE-SVC-…` marks clients outside the pod range for masquerade, then picks an endpoint with
 *   one random test per endpoint, probability 1/(n−i) for the i-th (iptables' `-m statistic
 *   --mode random --probability`; here `numgen random mod n−i == 0`), the last taken unconditionally;
 * - `KUBE-SEP-…` marks hairpin traffic and DNATs to the endpoint;
 * - `KUBE-POSTROUTING` masquerades what was marked; the filter side rejects Services without
 *   endpoints as kube-proxy's filter `KUBE-SERVICES` does.
 *
 * Chain names are kube-proxy's: the prefix and 16 base32 characters of a SHA-256 of the Service
 * port (and endpoint), so they look and hash like the real ones.
 */
import { createHash } from "node:crypto";
import type { Protocol } from "../../src/k8s/service-model.ts";
import type { ProxyInput } from "../../src/proxy/ruleset.ts";

export const IPTABLES_TABLE = "kube-iptables";
/** kube-proxy's masquerade bit (--iptables-masquerade-bit 14). */
const MASQ_MARK = "0x00004000";

export interface IptablesStructure {
  /** The `nft -f` transaction that replaces the table in full. */
  readonly text: string;
  readonly chains: number;
  readonly rules: number;
  /** Rules in KUBE-SERVICES: how many a connection to the last Service walks before matching. */
  readonly serviceRules: number;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 of the first 10 bytes of SHA-256 (16 characters), as kube-proxy's chain names. */
function hash16(text: string): string {
  const bytes = createHash("sha256").update(text).digest();
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length === 16) break;
  }
  return out;
}

export function serviceChainName(servicePort: string, protocol: Protocol): string {
  return `KUBE-SVC-${hash16(servicePort + protocol.toLowerCase())}`;
}

export function endpointChainName(servicePort: string, protocol: Protocol, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePort + protocol.toLowerCase() + endpoint)}`;
}

function l4(protocol: Protocol): string {
  switch (protocol) {
    case "TCP":
      return "tcp";
    case "UDP":
      return "udp";
    case "SCTP":
      return "sctp";
    default: {
      const never: never = protocol;
      throw new Error(`unknown protocol ${String(never)}`);
    }
  }
}

interface Chain {
  readonly name: string;
  readonly hook?: string;
  readonly rules: string[];
}

/** Renders `input` (its IPv4 ClusterIPs; family must be "ip") in kube-proxy's iptables layout. */
export function renderIptablesStructure(input: ProxyInput): IptablesStructure {
  if (input.family !== "ip")
    throw new RangeError(`The iptables-structure ruleset is IPv4 only; got family "${input.family}"`);
  const services: Chain = { name: "KUBE-SERVICES", rules: [] };
  const filterServices: Chain = { name: "KUBE-SERVICES-FILTER", rules: [] };
  const perService: Chain[] = [];
  const podCidrs =
    input.podCidrs.length === 0
      ? undefined
      : input.podCidrs.length === 1
        ? input.podCidrs[0]
        : `{ ${input.podCidrs.join(", ")} }`;
  for (const { service, endpoints } of input.services) {
    const clusterIP = service.clusterIPs.find((ip) => ip.includes("."));
    if (clusterIP === undefined) continue;
    for (const port of service.ports) {
      const proto = l4(port.protocol);
      const match = `ip daddr ${clusterIP} ${proto} dport ${port.port}`;
      const name = `${service.namespace}/${service.name}:${port.name ?? ""}`;
      if (endpoints.length === 0) {
        filterServices.rules.push(`${match} reject`);
        continue;
      }
      const svc: Chain = { name: serviceChainName(name, port.protocol), rules: [] };
      services.rules.push(`${match} jump ${svc.name}`);
      if (podCidrs !== undefined) svc.rules.push(`ip saddr != ${podCidrs} ${match} jump KUBE-MARK-MASQ`);
      const seps: Chain[] = endpoints.map((ep) => {
        const target = `${ep.ip}:${port.targetPort}`;
        return {
          name: endpointChainName(name, port.protocol, target),
          rules: [`ip saddr ${ep.ip} jump KUBE-MARK-MASQ`, `meta l4proto ${proto} dnat to ${target}`],
        };
      });
      seps.forEach((sep, i) => {
        const left = seps.length - i;
        svc.rules.push(left > 1 ? `numgen random mod ${left} == 0 jump ${sep.name}` : `jump ${sep.name}`);
      });
      perService.push(svc, ...seps);
    }
  }
  // kube-proxy's last KUBE-SERVICES rule: whatever is addressed to this node goes to the NodePorts.
  services.rules.push("fib daddr type local jump KUBE-NODEPORTS");
  const chains: Chain[] = [
    { name: "nat-prerouting", hook: "type nat hook prerouting priority -100", rules: ["jump KUBE-SERVICES"] },
    { name: "nat-output", hook: "type nat hook output priority -100", rules: ["jump KUBE-SERVICES"] },
    {
      name: "nat-postrouting",
      hook: "type nat hook postrouting priority 100",
      rules: ["jump KUBE-POSTROUTING"],
    },
    {
      name: "filter-output",
      hook: "type filter hook output priority 0",
      rules: ["ct state new jump KUBE-SERVICES-FILTER"],
    },
    {
      name: "filter-forward",
      hook: "type filter hook forward priority 0",
      rules: ["ct state new jump KUBE-SERVICES-FILTER"],
    },
    { name: "KUBE-MARK-MASQ", rules: [`meta mark set meta mark | ${MASQ_MARK}`] },
    {
      name: "KUBE-POSTROUTING",
      rules: [
        `meta mark & ${MASQ_MARK} != ${MASQ_MARK} return`,
        `meta mark set meta mark ^ ${MASQ_MARK}`,
        "masquerade fully-random",
      ],
    },
    { name: "KUBE-NODEPORTS", rules: [] },
    services,
    filterServices,
    ...perService,
  ];
  const lines = [
    `add table ip ${IPTABLES_TABLE}`,
    `delete table ip ${IPTABLES_TABLE}`,
    `table ip ${IPTABLES_TABLE} {`,
  ];
  let rules = 0;
  for (const chain of chains) {
    lines.push(`\tchain ${chain.name} {`);
    if (chain.hook) lines.push(`\t\t${chain.hook}; policy accept;`);
    for (const rule of chain.rules) lines.push(`\t\t${rule}`);
    lines.push("\t}");
    rules += chain.rules.length;
  }
  lines.push("}", "");
  return { text: lines.join("\n"), chains: chains.length, rules, serviceRules: services.rules.length - 1 };
}
