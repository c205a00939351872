/**
 * Service addresses (pure): a ClusterIP (its Service, the service CIDR and band it came from, its
 * ports and endpoints, that it exists only as rules — no interface holds it — and that every
 * node's proxy table has it), an unallocated address of a service CIDR, a NodePort on a node IP,
 * and the Services a pod address is an endpoint of.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { serviceIPBands } from "../ipam/service-ip-allocator.ts";
import { parseIP, sameIP } from "../ipnet/address.ts";
import { rangeContains } from "../ipnet/range.ts";
import type { Endpoint, Service, ServicePort } from "../k8s/service-model.ts";
import {
  nftFamilyWord,
  proxyTableOf,
  unhookedProxyTables,
  unhookedTablesText,
} from "../linux/nft-table-family.ts";
import { NAMES, nodePortEndpointsMap, serviceEndpointsMap } from "../proxy/nft-names.ts";
import type { ServiceView } from "./cluster-snapshot.ts";
import { endpointText, mapEndpoints, nftSet, protoOf, reportsProxyTable, setHas } from "./drift-services.ts";
import type { ExplainContext, Finding } from "./explain-context.ts";
import type { Check, EndpointUse } from "./explanation.ts";
import { addressOf } from "./fact-text.ts";
import { familyOf, inPrefix, prefixOrUndefined } from "./trace-net.ts";

export function serviceName(s: Service): string {
  return `${s.namespace}/${s.name}`;
}

function portText(p: ServicePort): string {
  return `${protoOf(p)} ${p.port}→${p.targetPort}`;
}

function bandOf(cidr: string, ip: string): "static" | "dynamic" | undefined {
  const prefix = prefixOrUndefined(cidr);
  if (!prefix) return undefined;
  try {
    const bands = serviceIPBands(prefix);
    const addr = parseIP(ip);
    if (bands.staticBand && rangeContains(bands.staticBand, addr)) return "static";
    if (bands.dynamicBand && rangeContains(bands.dynamicBand, addr)) return "dynamic";
  } catch {
    // a CIDR too small for ClusterIPs has no band
  }
  return undefined;
}

function clusterIPChecks(ctx: ExplainContext, view: ServiceView, f: NodeFacts): Check[] {
  const ip = ctx.ip;
  const held = f.interfaces
    .filter((i) => i.addresses.some((a) => sameIP(addressOf(a), ip)))
    .map((i) => i.name);
  const checks: Check[] = [
    {
      node: f.node,
      ok: held.length === 0,
      what: `no interface holds ${ip} (it exists only as rules)`,
      evidence: held.length ? `held by ${held.join(", ")}` : "no interface holds it",
      command: `ip -br addr | grep -w ${ip}`,
    },
  ];
  const family = familyOf(ip);
  const table = proxyTableOf(f.nft, family);
  if (!reportsProxyTable(f, family)) {
    const unhooked = unhookedProxyTables(f.nft, family);
    checks.push({
      node: f.node,
      ok: false,
      what:
        unhooked.length > 0 ? `proxy table ${table} live (with base chains)` : `proxy table ${table} present`,
      evidence:
        unhooked.length > 0 ? unhookedTablesText(unhooked) : `tables: ${f.nft.tables.join(", ") || "none"}`,
      command: unhooked.length > 0 ? `nft list chains ${nftFamilyWord(family)}` : "nft list tables",
    });
    return checks;
  }
  checks.push({
    node: f.node,
    ok: setHas(nftSet(f, NAMES.clusterIPs, family), [ip]),
    what: `${ip} in set ${NAMES.clusterIPs}`,
    evidence: setHas(nftSet(f, NAMES.clusterIPs, family), [ip]) ? "present" : "absent",
    command: `nft list set ${table} ${NAMES.clusterIPs}`,
  });
  const ports = view.service.ports.filter((p) => ctx.port === undefined || p.port === ctx.port);
  for (const p of ports) {
    const proto = protoOf(p);
    if (view.endpoints.length === 0) {
      const inMap = setHas(nftSet(f, NAMES.serviceIps, family), [ip, proto, String(p.port)]);
      checks.push({
        node: f.node,
        ok: !inMap,
        what: `${endpointText(ip, p.port)}/${proto} rejected (no endpoints: chain ${NAMES.reject})`,
        evidence: inMap
          ? `map ${NAMES.serviceIps} still sends it to endpoints`
          : `not in map ${NAMES.serviceIps}`,
        command: `nft list map ${table} ${NAMES.serviceIps}`,
      });
      continue;
    }
    const have = mapEndpoints(f, ip, p);
    const want = view.endpoints.map((e) => endpointText(e.ip, p.targetPort));
    const missing = want.filter((w) => !have.some((h) => h === w));
    const extra = have.filter((h) => !want.includes(h));
    checks.push({
      node: f.node,
      ok:
        setHas(nftSet(f, NAMES.serviceIps, family), [ip, proto, String(p.port)]) &&
        missing.length === 0 &&
        extra.length === 0,
      what: `${endpointText(ip, p.port)}/${proto} DNATs to its ${want.length} endpoint(s)`,
      evidence: `map ${serviceEndpointsMap(proto)}: ${have.length} endpoint(s)${missing.length ? `, missing ${missing.join(", ")}` : ""}${extra.length ? `, stale ${extra.join(", ")}` : ""}`,
      command: `nft list map ${table} ${serviceEndpointsMap(proto)}`,
    });
  }
  return checks;
}

/** A ClusterIP or an unallocated service-CIDR address; undefined outside every service CIDR. */
export function explainServiceAddress(ctx: ExplainContext): Finding | undefined {
  const cidr = ctx.snapshot.config.serviceCidrs.find((c) => inPrefix(ctx.ip, c));
  const view = ctx.snapshot.services.find((v) => v.service.clusterIPs.some((c) => sameIP(c, ctx.ip)));
  if (!cidr && !view) return undefined;
  const band = cidr ? bandOf(cidr, ctx.ip) : undefined;
  const provenance = { ...(cidr ? { range: cidr } : {}), ...(band ? { band } : {}) };
  if (!view) {
    return {
      kinds: ["service-range"],
      summary: [
        `inside service CIDR ${cidr}${band ? ` (${band} band)` : ""}, but no Service has it: nothing answers`,
      ],
      provenance,
    };
  }
  const svc = view.service;
  // The ClusterIP's family's proxy table DNATs to the endpoints of that family only
  // (proxy/service-plan.ts): those are the ones this address reaches, or none.
  const family = familyOf(ctx.ip);
  const reached: ServiceView = {
    ...view,
    endpoints: view.endpoints.filter((e) => familyOf(e.ip) === family),
  };
  const ports = svc.ports.filter((p) => ctx.port === undefined || p.port === ctx.port);
  const endpointSummary = reached.endpoints.length
    ? `${reached.endpoints.length} endpoint(s)`
    : "no endpoints: connections are rejected";
  const summary = [
    `ClusterIP of Service ${serviceName(svc)} → ${endpointSummary}`,
    ...(ctx.port !== undefined && ports.length === 0
      ? [`the Service has no port ${ctx.port}: rejected`]
      : []),
  ];
  return {
    kinds: ["cluster-ip"],
    summary,
    provenance,
    service: {
      service: serviceName(svc),
      clusterIPs: svc.clusterIPs,
      ...(cidr ? { serviceCidr: cidr } : {}),
      ...(band ? { band } : {}),
      ports: svc.ports,
      endpoints: reached.endpoints,
      sessionAffinity:
        svc.sessionAffinity.kind === "ClientIP"
          ? `ClientIP (${svc.sessionAffinity.timeoutSeconds}s)`
          : svc.sessionAffinity.kind,
    },
    checks: ctx.facts.flatMap((f) => clusterIPChecks(ctx, reached, f)),
    subjects: [
      ctx.ip,
      ...svc.ports.map((p) => `${endpointText(ctx.ip, p.port)}/${protoOf(p)}`),
      ...reached.endpoints.flatMap((e) => svc.ports.map((p) => endpointText(e.ip, p.targetPort))),
    ],
  };
}

/** A NodePort: the query's port on a node's address; undefined when that is not one. */
export function explainNodePort(ctx: ExplainContext): Finding | undefined {
  if (ctx.port === undefined) return undefined;
  const node = ctx.snapshot.nodes.find((n) => n.nodeIPs.some((a) => sameIP(a, ctx.ip)));
  const family = familyOf(ctx.ip);
  const inSet = ctx.facts.filter((f) => setHas(nftSet(f, NAMES.nodeportIPs, family), [ctx.ip]));
  if (!node && inSet.length === 0) return undefined;
  const nodeName = node?.name ?? inSet[0]?.node;
  let found: { view: ServiceView; port: ServicePort } | undefined;
  for (const view of ctx.snapshot.services) {
    const port = view.service.ports.find((p) => p.nodePort === ctx.port);
    if (port) {
      found = { view, port };
      break;
    }
  }
  if (!found) {
    return {
      kinds: [],
      summary: [
        `no Service has NodePort ${ctx.port}: ${nodeName ?? "the node"} answers it itself or not at all`,
      ],
    };
  }
  const { view, port } = found;
  const proto = protoOf(port);
  // A NodePort on an address of one family DNATs to the endpoints of that family (its table's).
  const endpoints: readonly Endpoint[] = view.endpoints.filter((e) => familyOf(e.ip) === family);
  const checks: Check[] = [];
  for (const f of ctx.facts) {
    if (!reportsProxyTable(f, family)) continue;
    const table = proxyTableOf(f.nft, family);
    const has = setHas(nftSet(f, NAMES.serviceNodeports, family), [proto, String(ctx.port)]);
    const map = nodePortEndpointsMap(proto);
    const count = (nftSet(f, map, family)?.elements ?? []).filter(
      (e) => e.key[0] === String(ctx.port),
    ).length;
    checks.push({
      node: f.node,
      ok: endpoints.length === 0 ? true : has && count === endpoints.length,
      what: `${proto}/${ctx.port} in map ${NAMES.serviceNodeports} with ${endpoints.length} endpoint(s)`,
      evidence: `${has ? "present" : "absent"} in ${NAMES.serviceNodeports}; ${count} element(s) in ${map}`,
      command: `nft list map ${table} ${map}`,
    });
    if (f.node === nodeName) {
      const listed = setHas(nftSet(f, NAMES.nodeportIPs, family), [ctx.ip]);
      const any = (nftSet(f, NAMES.nodeportIPs, family)?.elements ?? []).length === 0;
      checks.push({
        node: f.node,
        ok: listed || any,
        what: `${ctx.ip} in set ${NAMES.nodeportIPs} (NodePorts answer there)`,
        evidence: listed ? "present" : any ? "empty set: every local address" : "absent",
        command: `nft list set ${table} ${NAMES.nodeportIPs}`,
      });
    }
  }
  return {
    kinds: ["node-port"],
    summary: [
      `NodePort ${ctx.port}/${proto} of Service ${serviceName(view.service)} → ${endpoints.length} endpoint(s)`,
    ],
    nodePort: {
      ...(nodeName ? { node: nodeName } : {}),
      service: serviceName(view.service),
      port,
      endpoints,
      masquerade: `NodePort traffic is marked and masqueraded: an endpoint sees the address of the node that forwards it to it (${ctx.ip} towards its own pods), not the client's`,
    },
    checks,
    subjects: [endpointText(ctx.ip, ctx.port), ...endpoints.map((e) => endpointText(e.ip, port.targetPort))],
  };
}

/** The Services that have the address among their endpoints. */
export function endpointUses(ctx: ExplainContext): EndpointUse[] {
  return ctx.snapshot.services
    .filter((v) => v.endpoints.some((e) => sameIP(e.ip, ctx.ip)))
    .map((v) => ({ service: serviceName(v.service), ports: v.service.ports.map(portText) }));
}

/** Whether every node's proxy maps hold the address as an endpoint of each Service using it. */
export function endpointChecks(ctx: ExplainContext): Check[] {
  const checks: Check[] = [];
  for (const view of ctx.snapshot.services.filter((v) => v.endpoints.some((e) => sameIP(e.ip, ctx.ip)))) {
    const family = familyOf(ctx.ip);
    for (const f of ctx.facts.filter((x) => reportsProxyTable(x, family))) {
      // The endpoint is in the maps of the ClusterIP of its own family.
      for (const clusterIP of view.service.clusterIPs.filter((c) => familyOf(c) === family)) {
        const lacking = view.service.ports.filter(
          (p) => !mapEndpoints(f, clusterIP, p).includes(endpointText(ctx.ip, p.targetPort)),
        );
        checks.push({
          node: f.node,
          ok: lacking.length === 0,
          what: `endpoint of ${serviceName(view.service)} (${view.service.ports.map(portText).join(", ")}) in its proxy maps`,
          evidence: lacking.length
            ? `missing from ${lacking.map((p) => serviceEndpointsMap(protoOf(p))).join(", ")}`
            : "present in every port's map",
          command: `nft list map ${proxyTableOf(f.nft, family)} ${serviceEndpointsMap(protoOf(view.service.ports[0] ?? { protocol: "TCP", port: 0, targetPort: 0 }))}`,
        });
      }
    }
  }
  return checks;
}
