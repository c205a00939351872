/** The node agent's own Prometheus series (the pod publisher and the proxy add theirs). */
import type { Metrics } from "../daemon/metrics.ts";

export const ERROR_KINDS = ["store", "sync", "lease", "uplink", "route", "dns", "bgp"] as const;
export type AgentErrorKind = (typeof ERROR_KINDS)[number];

export function agentMetrics(metrics: Metrics) {
  const m = {
    blocks: metrics.gauge("podnet_agent_blocks", "Pod blocks leased by this node (1 per block).", ["block"]),
    peers: metrics.gauge(
      "podnet_agent_peer_routes",
      "Peer blocks by how they are reached (direct, vxlan, bgp, skipped).",
      ["route"],
    ),
    syncs: metrics.counter("podnet_agent_route_syncs_total", "Route synchronisations run."),
    changes: metrics.counter(
      "podnet_agent_route_changes_total",
      "Kernel changes made by route synchronisations.",
    ),
    syncSeconds: metrics.histogram(
      "podnet_agent_route_sync_duration_seconds",
      "Duration of one route synchronisation.",
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    errors: metrics.counter(
      "podnet_agent_errors_total",
      "Errors by kind (store, sync, lease, uplink, route, dns, bgp).",
      ["kind"],
    ),
    ready: metrics.gauge("podnet_agent_ready", "1 once the node's network is programmed."),
    nodeIpChanges: metrics.counter(
      "podnet_agent_node_ip_changes_total",
      "Node IP changes detected and announced.",
    ),
    allocations: metrics.gauge("podnet_agent_allocations", "Pod addresses allocated, per block.", ["block"]),
    orphaned: metrics.gauge(
      "podnet_agent_orphaned_allocations",
      "Allocations whose pod has no interface left, per block.",
      ["block"],
    ),
    dnsServing: metrics.gauge(
      "podnet_dns_serving",
      "1 while the node-local DNS server answers on its address (UDP and TCP).",
    ),
    dnsServices: metrics.gauge("podnet_dns_zone_services", "Services in the node-local DNS zone."),
    dnsZoneUpdates: metrics.counter(
      "podnet_dns_zone_updates_total",
      "Services put into or deleted from the DNS zone, by kind (reset, put, delete).",
      ["kind"],
    ),
    bgpSessionUp: metrics.gauge(
      "podnet_bgp_session_up",
      "1 while the BGP session with the peer is Established, else 0.",
      ["peer", "neighbor"],
    ),
    bgpSessionEstablishedSeconds: metrics.gauge(
      "podnet_bgp_session_established_seconds",
      "Seconds since the BGP session with the peer entered Established (at the last poll, every 2 s); 0 while it is not Established.",
      ["peer", "neighbor"],
    ),
    bgpSessionState: metrics.gauge(
      "podnet_bgp_session_state",
      "1 for the BGP state each session is in (Idle, Connect, Active, OpenSent, OpenConfirm, Established).",
      ["peer", "state"],
    ),
    bgpRoutes: metrics.gauge(
      "podnet_bgp_routes",
      "Routes per BGP session, family and direction (imported from the peer, exported to it).",
      ["peer", "family", "direction"],
    ),
    birdReloads: metrics.counter(
      "podnet_bird_reloads_total",
      "BIRD configurations applied (start or configure), by result (ok, failed).",
      ["result"],
    ),
    birdRestarts: metrics.counter(
      "podnet_bird_restarts_total",
      "Unexpected BIRD exits, each followed by a restart.",
    ),
  };
  // Series exist from the first scrape, so rate() and alerts on them work before any error.
  for (const kind of ERROR_KINDS) m.errors.inc({ kind }, 0);
  m.ready.set(0);
  m.dnsServing.set(0);
  for (const kind of ["reset", "put", "delete"]) m.dnsZoneUpdates.inc({ kind }, 0);
  for (const result of ["ok", "failed"]) m.birdReloads.inc({ result }, 0);
  m.birdRestarts.inc(0);
  return m;
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;

/** Sets one gauge series per block (blocks change when a lease is lost and claimed anew). */
export function setBlockGauge(m: AgentMetrics, blocks: readonly string[]): void {
  m.blocks.reset();
  for (const block of blocks) m.blocks.set({ block }, 1);
}
