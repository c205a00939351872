/**
 * What `podnet cluster bgp show` prints (pure): the node-wide settings, with the defaults spelt
 * out (hold 90 s is not the lab's 9 s), and one line per peer saying which nodes peer with it.
 * Passwords are never printed, only whether one is set.
 */
import type { BgpConfig, BgpPeer } from "../cluster/bgp-config.ts";
import { bgpConfigToJSON } from "../cluster/bgp-config.ts";
import type { BgpStatusRecord } from "../cluster/bgp-status-records.ts";
import { agoText } from "../diagnosis/explain-context.ts";
import { printable } from "../diagnosis/printable.ts";
import { renderTable } from "./table.ts";

/** Shown instead of a password, in text and JSON. */
export const HIDDEN_PASSWORD = "(hidden)";

function whichNodes(peer: BgpPeer): string {
  if (peer.selector?.cidr !== undefined) return `node IP in ${peer.selector.cidr}`;
  if (peer.selector?.nodes !== undefined) return peer.selector.nodes.join(",");
  return "node IP on the peer's subnet";
}

function seconds(n: number): string {
  return n === 0 ? "0 (no keepalives, sessions never time out)" : `${n} s`;
}

function peerRow(config: BgpConfig, peer: BgpPeer): string[] {
  const localAs = peer.localAsNumber ?? config.asNumber;
  return [
    peer.name,
    peer.address,
    String(peer.asNumber),
    String(localAs),
    localAs === peer.asNumber ? "iBGP" : "eBGP",
    whichNodes(peer),
    peer.holdTimeSeconds === undefined ? "-" : String(peer.holdTimeSeconds),
    peer.password === undefined ? "no" : "yes",
    [
      ...(peer.multihop !== undefined ? [`multihop ${peer.multihop}`] : []),
      ...(peer.allowLocalAs ? ["allow local AS"] : []),
    ].join(", ") || "-",
  ];
}

export function formatBgpConfig(config: BgpConfig | undefined): string {
  if (!config) return "BGP is not configured (no peering record in the datastore).";
  const gr = config.gracefulRestart;
  const lines = [
    `AS:               ${config.asNumber}`,
    `hold time:        ${seconds(config.holdTimeSeconds)}`,
    ...(config.holdTimeSeconds === 0 ? [] : [`keepalive:        ${config.keepaliveSeconds} s`]),
    `graceful restart: ${gr.enabled ? "on" : "off"} (restart time ${gr.restartTimeSeconds} s)`,
    `VPC CIDRs:        ${
      config.vpcCidrs.length === 0
        ? "the node networks (the subnets of the node IPs)"
        : config.vpcCidrs.join(", ")
    }`,
    "",
  ];
  if (config.peers.length === 0) return [...lines, "No peers: BGP is off."].join("\n");
  const headers = ["PEER", "ADDRESS", "PEER-AS", "LOCAL-AS", "TYPE", "NODES", "HOLD", "PASSWORD", "OPTIONS"];
  return [
    ...lines,
    renderTable(
      headers,
      config.peers.map((p) => peerRow(config, p)),
    ),
  ].join("\n");
}

/** The stored JSON with passwords replaced by HIDDEN_PASSWORD. */
export function bgpConfigDisplayJSON(config: BgpConfig): ReturnType<typeof bgpConfigToJSON> {
  const json = bgpConfigToJSON(config);
  return {
    ...json,
    peers: json.peers.map((p) => (p.password === undefined ? p : { ...p, password: HIDDEN_PASSWORD })),
  };
}

function sinceText(since: string | undefined, now: Date): string {
  if (since === undefined) return "-";
  const t = Date.parse(since);
  return Number.isNaN(t) ? printable(since) : agoText(Math.round((now.getTime() - t) / 1000));
}

/**
 * The sessions each node's agent last published, one line per node and peer in the manner of
 * `cilium bgp peers`; then the nodes' and sessions' last errors, and records that did not parse.
 */
export function formatBgpSessions(
  records: readonly BgpStatusRecord[],
  invalid: readonly string[],
  now: Date,
): string {
  if (records.length === 0 && invalid.length === 0) return "No node has published BGP sessions.";
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const r of records) {
    const node = printable(r.node);
    if (!r.running)
      rows.push([node, "-", "-", "-", "-", "BIRD not running", sinceText(r.updatedAt, now), "-", "-"]);
    if (r.lastError !== undefined) notes.push(`${node}: ${printable(r.lastError)}`);
    for (const s of r.sessions) {
      rows.push([
        node,
        printable(s.peer),
        printable(s.neighbor),
        String(s.localAsNumber),
        String(s.asNumber),
        printable(s.state),
        sinceText(s.since, now),
        String(s.received),
        String(s.advertised),
      ]);
      if (s.lastError !== undefined) notes.push(`${node} ${printable(s.peer)}: ${printable(s.lastError)}`);
    }
  }
  const headers = [
    "NODE",
    "PEER",
    "ADDRESS",
    "LOCAL-AS",
    "PEER-AS",
    "STATE",
    "SINCE",
    "RECEIVED",
    "ADVERTISED",
  ];
  return [
    renderTable(headers, rows),
    ...(notes.length > 0 ? ["", "Last errors:", ...notes.map((n) => `  ${n}`)] : []),
    ...(invalid.length > 0
      ? ["", "Unreadable status records:", ...invalid.map((i) => `  ${printable(i)}`)]
      : []),
  ].join("\n");
}
