/**
 * Node IPs and addresses outside the cluster (pure). A node IP: which node announces it and
 * whether its uplink still holds it (or which node holds an address it does not announce). An
 * outside address: whether pod traffic from each node is masqueraded to the node's IP on the way
 * there, per that node's `no-masquerade` set and its masquerade rule.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { parseIP, sameIP } from "../ipnet/address.ts";
import { containsIP } from "../ipnet/prefix.ts";
import {
  proxyTableOf,
  reportedProxyTable,
  unhookedProxyTables,
  unhookedTablesText,
} from "../linux/nft-table-family.ts";
import { NAMES } from "../proxy/nft-names.ts";
import { ifnameWord } from "./command-words.ts";
import { nodeIPStatus, uplinkAddresses } from "./drift-node.ts";
import { expectedProxyFamilies, nftChain, nftSet, reportsProxyTable } from "./drift-services.ts";
import { bgpPart } from "./explain-bgp.ts";
import { type ExplainContext, type Finding, factsOf } from "./explain-context.ts";
import type { Check, EgressDecision } from "./explanation.ts";
import { addressOf } from "./fact-text.ts";
import { familyOf, prefixOrUndefined } from "./trace-net.ts";

export function explainNodeIP(ctx: ExplainContext): Finding | undefined {
  const announcedBy = ctx.snapshot.nodes.find((n) => n.nodeIPs.some((a) => sameIP(a, ctx.ip)));
  const heldBy = ctx.facts.find((f) => uplinkAddresses(f).some((a) => sameIP(addressOf(a), ctx.ip)));
  const name = announcedBy?.name ?? heldBy?.node;
  if (name === undefined) return undefined;
  const f = factsOf(ctx, name);
  const record = ctx.snapshot.nodes.find((n) => n.name === name);
  const status = f ? nodeIPStatus(record, f) : undefined;
  const current = status?.held;
  const holds = current?.some((a) => sameIP(addressOf(a), ctx.ip)) ?? false;
  // Changed: announced but not held (the same rule as drift's node-ip-changed), or held but not announced.
  const changed =
    status?.readable === true &&
    (announcedBy === undefined || status.notHeld.some((ip) => sameIP(ip, ctx.ip)));
  const segment = current?.find((a) => sameIP(addressOf(a), ctx.ip));
  const checks: Check[] = f
    ? [
        {
          node: name,
          ok: holds && announcedBy !== undefined,
          what: `${name}'s uplink ${f.agent.uplink} holds ${ctx.ip} and the node record announces it`,
          evidence: `${f.agent.uplink} has ${current?.join(", ") || "no address"}; announced ${record?.nodeIPs.join(", ") || "nothing"}`,
          command: `ip addr show ${ifnameWord(f.agent.uplink)}`,
        },
      ]
    : [];
  const segText = segment ? prefixOrUndefined(segment) : undefined;
  const summary = announcedBy
    ? `node ${name}${f ? ` (${f.agent.uplink}${segText ? ` ${segment}` : ""}, ${record?.backend ?? f.agent.backend} backend)` : ""}${changed ? `: announced, but ${name}'s uplink no longer holds it` : ""}`
    : `held by ${name}'s uplink, but ${name} announces ${record?.nodeIPs.join(", ") || "nothing"}: its node IP changed`;
  const bgp = f?.bgp === undefined ? undefined : bgpPart(f, ctx.now);
  return {
    kinds: ["node-ip"],
    summary: [summary],
    ...(bgp === undefined ? {} : { bgp }),
    nodeIP: {
      node: name,
      backend: record?.backend ?? f?.agent.backend ?? "?",
      announced: record?.nodeIPs ?? [],
      ...(current ? { current } : {}),
      ...(f ? { uplink: f.agent.uplink } : {}),
      changed,
    },
    checks,
    // The node's BGP drift names its blocks (unannounced, stray announcements).
    subjects: [ctx.ip, name, ...(bgp === undefined ? [] : (f?.agent.blocks ?? []))],
  };
}

/** Whether pod traffic from node `f` to `ip` is masqueraded: the proxy table of `ip`'s family decides. */
function egressOn(f: NodeFacts, ip: string): EgressDecision {
  const addr = parseIP(ip);
  const family = addr.family;
  const table = proxyTableOf(f.nft, family);
  const nodeIP = f.agent.nodeIPs.find((a) => familyOf(a) === family);
  if (!reportsProxyTable(f, family)) {
    // An IPv6 table listed but untagged comes from an agent that mixed both tables' sets.
    if (family === 6 && reportedProxyTable(f.nft, family) !== undefined)
      return {
        node: f.node,
        reason: `unknown: the agent reports ${table} mixed with ip podnet (an older podnet)`,
      };
    return {
      node: f.node,
      masquerade: false,
      reason: !expectedProxyFamilies(f).includes(family)
        ? `the node has no IPv6 block, so its pods have no IPv6 address to send from`
        : unhookedProxyTables(f.nft, family).length > 0
          ? `${unhookedTablesText(unhookedProxyTables(f.nft, family))}: pods' traffic leaves unmasqueraded`
          : `no ${table} table: pods' traffic leaves unmasqueraded`,
    };
  }
  const listed = (nftSet(f, NAMES.noMasquerade, family)?.elements ?? [])
    .map((e) => e.key[0] ?? "")
    .find((k) => {
      const p = prefixOrUndefined(k.includes("/") ? k : `${k}/${family === 6 ? 128 : 32}`);
      return p !== undefined && p.family === family && containsIP(p, addr);
    });
  if (listed) {
    return {
      node: f.node,
      masquerade: false,
      reason: `in set ${NAMES.noMasquerade} of ${table} (${listed}): pods keep their address`,
    };
  }
  const rule = (nftChain(f, NAMES.natPostrouting, family)?.rules ?? []).find(
    (r) =>
      r.includes(`@${NAMES.podCidrs}`) && r.includes(`@${NAMES.noMasquerade}`) && r.includes("masquerade"),
  );
  if (!rule) {
    return {
      node: f.node,
      masquerade: false,
      reason: "egress masquerade is off on this node: pods keep their address",
    };
  }
  return {
    node: f.node,
    masquerade: true,
    ...(nodeIP ? { as: nodeIP } : {}),
    reason: `not in set ${NAMES.noMasquerade}: ${NAMES.natPostrouting} of ${table} masquerades pod traffic to the node's address`,
  };
}

/** An address in no cluster or service range and no node's: how pods reach it. */
export function explainOutside(ctx: ExplainContext): Finding {
  const egress = ctx.facts.map((f) => egressOn(f, ctx.ip));
  return { kinds: ["outside"], summary: [outsideSummary(egress)], egress, subjects: [ctx.ip] };
}

function outsideSummary(egress: readonly EgressDecision[]): string {
  const nodes = (masquerade: boolean | undefined) =>
    egress.filter((e) => e.masquerade === masquerade).map((e) => e.node);
  const [masq, kept, unknown] = [nodes(true), nodes(false), nodes(undefined)];
  if (egress.length === 0) return "outside every cluster range";
  if (masq.length === egress.length)
    return "outside every cluster range: pods reach it through masquerade to their node's IP";
  if (kept.length === egress.length)
    return "outside every cluster range, not masqueraded: pods reach it with their own address";
  const parts = [
    masq.length ? `masqueraded from ${masq.join(", ")}` : "",
    kept.length ? `not from ${kept.join(", ")}` : "",
    unknown.length ? `unknown from ${unknown.join(", ")}` : "",
  ];
  return `outside every cluster range: ${parts.filter((p) => p !== "").join(", ")}`;
}
