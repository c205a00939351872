/**
 * Addresses inside the cluster's pod ranges (pure): a pod's, a node's gateway or VTEP address, a
 * free one (and who held it last), or one in no leased block. Gives the chain cluster CIDR → block
 * → lease → allocation, what the owner node's kernel holds, and how every node routes the block.
 */

import type { NodeFacts, NodePodFact } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { formatIP, parseIP, sameIP } from "../ipnet/address.ts";
import { firstIP, nthIP } from "../ipnet/prefix.ts";
import type { BlockLeaseView } from "./cluster-snapshot.ts";
import { addressWord, ifnameWord, netnsWord, shellWord } from "./command-words.ts";
import { interfaceProblem } from "./drift-ipam.ts";
import { examineBlock } from "./drift-peer-routes.ts";
import { age, type ExplainContext, type Finding, factsOf } from "./explain-context.ts";
import type { Check, PodPart, Provenance } from "./explanation.ts";
import { addressOf } from "./fact-text.ts";
import { hasVtep } from "./target.ts";
import { inPrefix, prefixOrUndefined } from "./trace-net.ts";

function holders(f: NodeFacts, ip: string): string[] {
  return f.interfaces.filter((i) => i.addresses.some((a) => sameIP(addressOf(a), ip))).map((i) => i.name);
}

function podFactFor(f: NodeFacts | undefined, ip: string): NodePodFact | undefined {
  if (!f) return undefined;
  const a = f.allocations.find((x) => sameIP(x.ip, ip));
  return (
    (a &&
      f.pods.find(
        (p) => p.containerId === a.containerId && p.ifname === a.ifname && p.network === a.network,
      )) ??
    f.pods.find((p) => p.ips.some((x) => sameIP(x, ip)))
  );
}

function podPart(ctx: ExplainContext, block: BlockLeaseView, f: NodeFacts | undefined): PodPart | undefined {
  const ip = ctx.ip;
  const record = ctx.snapshot.pods.find((p) => p.ips.some((x) => sameIP(x, ip)));
  const fact = podFactFor(f, ip);
  const alloc = f?.allocations.find((x) => sameIP(x.ip, ip));
  if (!record && !fact && !alloc) return undefined;
  const veth = fact?.hostVeth ? f?.interfaces.find((i) => i.name === fact.hostVeth) : undefined;
  return {
    namespace: record?.namespace ?? fact?.namespace ?? "?",
    name: record?.name ?? fact?.name ?? "?",
    node: record?.node ?? block.node,
    inDatastore: record !== undefined,
    ...(record ? { labels: record.labels } : {}),
    ...((fact?.containerId ?? alloc?.containerId)
      ? { containerId: fact?.containerId ?? alloc?.containerId }
      : {}),
    ...((fact?.ifname ?? alloc?.ifname) ? { ifname: fact?.ifname ?? alloc?.ifname } : {}),
    ...(fact?.netns ? { netns: fact.netns } : {}),
    ...(fact?.inside ? { mac: fact.inside.mac } : {}),
    ...(fact?.hostVeth ? { hostVeth: fact.hostVeth } : {}),
    ...(veth?.master ? { bridge: veth.master } : {}),
  };
}

function podChecks(ctx: ExplainContext, pod: PodPart, f: NodeFacts | undefined): Check[] {
  const node = pod.node;
  if (!f) return [];
  const checks: Check[] = [];
  const alloc = f.allocations.find((x) => sameIP(x.ip, ctx.ip));
  const fact = podFactFor(f, ctx.ip);
  checks.push({
    node,
    ok: alloc !== undefined,
    what: `${node} allocated ${ctx.ip}`,
    evidence: alloc
      ? `allocation ${alloc.network} ${alloc.containerId}/${alloc.ifname} at ${alloc.allocatedAt}`
      : `no allocation of ${ctx.ip} among ${f.allocations.length}`,
    // A node-local fact: the node's own state (its data dir, /run/podnet by default).
    command: `sqlite3 -readonly /run/podnet/ipam.db "SELECT network, container_id, ifname, allocated_at FROM allocations WHERE ip = '${addressWord(ctx.ip)}'"`,
  });
  if (alloc) {
    const problem = interfaceProblem(f, alloc);
    checks.push({
      node,
      ok: problem === undefined,
      what: `${ctx.ip} on ${alloc.ifname} in the pod's namespace`,
      evidence:
        problem?.evidence ??
        `${alloc.ifname} ${fact?.inside?.mac ?? ""} has ${fact?.inside?.addresses.join(", ") ?? "(not read)"}`.replace(
          /\s+/g,
          " ",
        ),
      command: `nsenter --net=${fact?.netns === undefined ? "POD-NETNS" : netnsWord(fact.netns)} ip addr show ${ifnameWord(alloc.ifname)}`,
    });
  }
  if (fact?.hostVeth) {
    const veth = f.interfaces.find((i) => i.name === fact.hostVeth);
    checks.push({
      node,
      ok: veth?.up === true && veth.master !== undefined,
      what: `host veth ${fact.hostVeth} up, on the bridge`,
      evidence: veth
        ? `${veth.name} ${veth.up ? "up" : "DOWN"}${veth.master ? ` master ${veth.master}` : " (no bridge)"}`
        : `no interface ${fact.hostVeth}`,
      command: `ip -d link show ${ifnameWord(fact.hostVeth)}`,
    });
  }
  checks.push({
    node,
    ok: pod.inDatastore,
    what: "pod record in the datastore (endpoint candidate)",
    evidence: pod.inDatastore
      ? `pod record ${pod.namespace}/${pod.name} on ${node}`
      : "no pod record names the address",
    // Pod records show as the endpoints of the Services that select them.
    command: `podnet service list --datastore ${shellWord(ctx.snapshot.store)}`,
  });
  return checks;
}

function nodeAddressCheck(
  node: string,
  f: NodeFacts | undefined,
  ip: string,
  dev: string,
  what: string,
): Check[] {
  if (!f) return [];
  const held = holders(f, ip);
  return [
    {
      node,
      ok: held.includes(dev),
      what,
      evidence: held.length ? `held by ${held.join(", ")}` : `no interface of ${node} holds ${ip}`,
      command: `ip addr show ${ifnameWord(dev)}`,
    },
  ];
}

export function explainBlockAddress(ctx: ExplainContext): Finding | undefined {
  const { snapshot, ip } = ctx;
  const range = snapshot.config.clusterCidrs.find((c) => inPrefix(ip, c));
  const block = snapshot.blocks.find((b) => inPrefix(ip, b.block));
  if (!range && !block) return undefined;
  if (!block) {
    return {
      kinds: ["unleased"],
      summary: [`inside cluster range ${range}, in no leased block: no node holds or routes it`],
      provenance: { range },
    };
  }
  const prefix = prefixOrUndefined(block.block);
  const owner = factsOf(ctx, block.node);
  const record = snapshot.nodes.find((n) => n.name === block.node);
  const provenance: Provenance = {
    ...(range ? { range } : {}),
    block: {
      block: block.block,
      node: block.node,
      leased: block.leased,
      ...(block.claimedAt ? { claimed: age(block.claimedAt, ctx.now) } : {}),
    },
  };
  const routes = ctx.facts.map((f) => examineBlock(snapshot, f, block.block, ctx.facts).route);
  const addr = parseIP(ip);
  const isVtep =
    prefix !== undefined &&
    formatIP(firstIP(prefix)) === formatIP(addr) &&
    (record === undefined || hasVtep(record.backend));
  const isGateway = prefix !== undefined && formatIP(nthIP(prefix, 1n)) === formatIP(addr);
  const finding = {
    kinds: [] as Finding["kinds"][number][],
    summary: [] as string[],
    checks: [] as Check[],
    subjects: [block.block, ip],
  };
  let extra: Partial<Finding> = {};
  const pod = podPart(ctx, block, owner);
  if (pod) {
    finding.kinds.push("pod");
    const where = [
      pod.ifname && pod.mac ? `${pod.ifname} ${pod.mac}` : pod.ifname,
      pod.hostVeth && `host veth ${pod.hostVeth}${pod.bridge ? ` on ${pod.bridge}` : ""}`,
    ]
      .filter(Boolean)
      .join(", ");
    finding.summary.push(`pod ${pod.namespace}/${pod.name} on ${pod.node}${where ? ` (${where})` : ""}`);
    finding.checks.push(...podChecks(ctx, pod, owner));
    const alloc = owner?.allocations.find((x) => sameIP(x.ip, ip));
    const provenanceWithAlloc: Provenance = alloc
      ? {
          ...provenance,
          allocation: {
            node: block.node,
            network: alloc.network,
            containerId: alloc.containerId,
            ifname: alloc.ifname,
            allocated: age(alloc.allocatedAt, ctx.now),
          },
        }
      : provenance;
    extra = { pod, provenance: provenanceWithAlloc };
  }
  if (isGateway) {
    finding.kinds.push("gateway");
    const dev = owner ? holders(owner, ip)[0] : undefined;
    const mac = owner?.interfaces.find((i) => i.name === dev)?.mac;
    finding.summary.push(`gateway of ${block.node}'s pods${dev ? ` (${dev})` : ""}`);
    finding.checks.push(
      ...nodeAddressCheck(block.node, owner, ip, dev ?? "podnet0", `${ip} on ${block.node}'s bridge`),
    );
    extra = {
      ...extra,
      gateway: {
        node: block.node,
        block: block.block,
        ...(dev ? { device: dev } : {}),
        ...(mac ? { mac } : {}),
      },
    };
  }
  if (isVtep) {
    finding.kinds.push("vtep");
    const dev = owner?.interfaces.find((i) => i.name === VXLAN_DEV);
    const mac = dev?.mac ?? record?.vtepMac;
    finding.summary.push(`VXLAN (VTEP) address of ${block.node}${mac ? ` (${VXLAN_DEV} ${mac})` : ""}`);
    finding.checks.push(
      ...nodeAddressCheck(block.node, owner, ip, VXLAN_DEV, `${ip} on ${block.node}'s ${VXLAN_DEV}`),
    );
    if (owner && record) {
      finding.checks.push({
        node: block.node,
        ok: dev !== undefined && dev.mac.toLowerCase() === record.vtepMac.toLowerCase(),
        what: `${VXLAN_DEV} has the announced VTEP MAC ${record.vtepMac}`,
        evidence: dev
          ? `${VXLAN_DEV} ${dev.mac}${dev.vxlan ? ` vni ${dev.vxlan.vni} dstport ${dev.vxlan.port}` : ""}`
          : `no ${VXLAN_DEV}`,
        command: `ip -d link show ${VXLAN_DEV}`,
      });
      finding.subjects.push(record.vtepMac.toLowerCase());
    }
    extra = {
      ...extra,
      vtep: { node: block.node, block: block.block, device: VXLAN_DEV, ...(mac ? { mac } : {}) },
    };
  }
  if (!pod && !isGateway && !isVtep) {
    finding.kinds.push("free");
    const last = owner?.releases.find((r) => sameIP(r.ip, ip));
    const released = last ? age(last.releasedAt, ctx.now) : undefined;
    finding.summary.push(
      `inside ${block.node}'s block ${block.block}, free${last && released ? ` (released ${released.ageSeconds}s ago by ${last.namespace && last.name ? `${last.namespace}/${last.name}` : `container ${last.containerId}`})` : ""}`,
    );
    if (owner) {
      const held = holders(owner, ip).concat(
        owner.pods
          .filter((p) => p.inside?.addresses.some((a) => sameIP(addressOf(a), ip)))
          .map((p) => `${p.namespace}/${p.name}`),
      );
      finding.checks.push({
        node: block.node,
        ok: held.length === 0,
        what: `nothing on ${block.node} holds ${ip}`,
        evidence: held.length
          ? `held by ${held.join(", ")} without an allocation`
          : "no interface or pod holds it",
        command: `ip -br addr | grep -w ${addressWord(ip)}`,
      });
    }
    extra = {
      ...extra,
      free: {
        block: block.block,
        node: block.node,
        ...(last && released
          ? {
              lastHolder: {
                ...(last.namespace ? { namespace: last.namespace } : {}),
                ...(last.name ? { name: last.name } : {}),
                containerId: last.containerId,
                ifname: last.ifname,
                released,
              },
            }
          : {}),
      },
    };
  }
  return { provenance, ...extra, ...finding, routes };
}
