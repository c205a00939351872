/**
 * Builds the lab's underlay in namespaces: one "switch" namespace per segment holding a Linux
 * bridge, a router namespace with a leg on every segment (forwarding on), and a namespace per
 * host plugged into its segment's switch with its addresses and a default route per family via
 * the router. The VM (`Topology.vpcHost`, when the lab has one) is such a host too.
 *
 * The steps are planned first (pure, `planUnderlay`) and then carried out. A lab with IPv6 also
 * gets (and an IPv4-only lab gets none of it, so it is built exactly as before):
 * - `nodad` on every static IPv6 address: no tentative window in which bind() fails and source
 *   selection skips the address;
 * - `accept_ra=0` in every host namespace before it is plugged: nothing sends router
 *   advertisements in the lab, and no SLAAC address or RA route may appear next to the static ones;
 * - IPv6 forwarding on the router;
 * - switch bridges without multicast snooping: with no MLD querier, snooping could drop the
 *   solicited-node multicast that neighbour discovery needs.
 */

import { type Family, parseIP } from "../ipnet/address.ts";
import { mustRunSync } from "../linux/exec.ts";
import type { IpCommand } from "../linux/ip.ts";
import { renderBatch } from "../linux/ip.ts";
import { createNetns, inNetns } from "../linux/netns.ts";
import type { HostSpec, Segment, Topology } from "./topology.ts";
import { hostAddresses, segmentCidrs, segmentGateways } from "./topology.ts";

export interface UnderlayNames {
  readonly switchNetns: (segment: string) => string;
  readonly routerNetns: string;
  readonly hostNetns: (host: string) => string;
}

/** One step of building the underlay, in order. */
export type UnderlayStep =
  | { readonly kind: "netns"; readonly netns: string }
  | { readonly kind: "ip"; readonly netns: string; readonly commands: readonly IpCommand[] }
  | { readonly kind: "sysctl"; readonly netns: string; readonly key: string; readonly value: string };

/** The family of a range, an address, or an address with prefix length. */
const familyOfCidr = (text: string): Family => parseIP(text.split("/")[0] as string).family;

/** The families the topology's segments carry. */
export function topologyFamilies(topology: Pick<Topology, "segments">): Family[] {
  const families = new Set(topology.segments.flatMap((s) => segmentCidrs(s).map(familyOfCidr)));
  return ([4, 6] as const).filter((f) => families.has(f));
}

/** `addr add` of one address with prefix length; IPv6 addresses are usable at once (nodad). */
function addrAdd(cidr: string, dev: string): IpCommand {
  return ["addr", "add", cidr, "dev", dev, ...(familyOfCidr(cidr) === 6 ? ["nodad"] : [])];
}

/** A host's eth0: its addresses, up, and a default route per family via its segment's router. */
function hostCommands(host: HostSpec, seg: Segment | undefined): IpCommand[] {
  const routes: IpCommand[] = [];
  for (const address of hostAddresses(host)) {
    const f = familyOfCidr(address);
    const gateway = (seg ? segmentGateways(seg) : []).find((g) => familyOfCidr(g) === f);
    // `ip` takes the route's family from the gateway's address.
    if (gateway) routes.push(["route", "add", "default", "via", gateway]);
  }
  return [
    ...hostAddresses(host).map((a) => addrAdd(a, "eth0")),
    ["link", "set", "dev", "eth0", "up"],
    ...routes,
  ];
}

/**
 * The hosts a lab plugs into its segments: the nodes, the external host, the datastore's host
 * when the lab runs its own etcd, and the VM when the topology has one.
 */
export function underlayHosts(topology: Topology, options: { readonly datastore: boolean }): HostSpec[] {
  return [
    ...topology.nodes,
    topology.external,
    ...(options.datastore ? [topology.datastore] : []),
    ...(topology.vpcHost ? [topology.vpcHost] : []),
  ];
}

export function planUnderlay(
  topology: Topology,
  names: UnderlayNames,
  hosts: readonly HostSpec[],
): UnderlayStep[] {
  const families = topologyFamilies(topology);
  const v6 = families.includes(6);
  const steps: UnderlayStep[] = [];
  for (const seg of topology.segments) {
    const netns = names.switchNetns(seg.name);
    steps.push({ kind: "netns", netns });
    steps.push({
      kind: "ip",
      netns,
      commands: [
        ["link", "add", "name", "br0", "type", "bridge", ...(v6 ? ["mcast_snooping", "0"] : [])],
        ["link", "set", "dev", "br0", "up"],
      ],
    });
  }
  const router = names.routerNetns;
  steps.push({ kind: "netns", netns: router });
  if (families.includes(4))
    steps.push({ kind: "sysctl", netns: router, key: "net.ipv4.ip_forward", value: "1" });
  if (v6) steps.push({ kind: "sysctl", netns: router, key: "net.ipv6.conf.all.forwarding", value: "1" });
  for (const seg of topology.segments) {
    const leg = `r-${seg.name}`;
    steps.push({
      kind: "ip",
      netns: names.switchNetns(seg.name),
      commands: [
        ["link", "add", "name", "p-router", "type", "veth", "peer", "name", leg, "netns", router],
        ["link", "set", "dev", "p-router", "master", "br0"],
        ["link", "set", "dev", "p-router", "up"],
      ],
    });
    steps.push({
      kind: "ip",
      netns: router,
      commands: [
        ...segmentCidrs(seg).map((c, i) => addrAdd(`${segmentGateways(seg)[i]}/${c.split("/")[1]}`, leg)),
        ["link", "set", "dev", leg, "up"],
      ],
    });
  }
  for (const host of hosts) {
    const netns = names.hostNetns(host.name);
    const port = `p-${host.name}`.slice(0, 15);
    steps.push({ kind: "netns", netns });
    if (v6) {
      for (const scope of ["all", "default"])
        steps.push({ kind: "sysctl", netns, key: `net.ipv6.conf.${scope}.accept_ra`, value: "0" });
    }
    steps.push({
      kind: "ip",
      netns: names.switchNetns(host.segment),
      commands: [
        ["link", "add", "name", port, "type", "veth", "peer", "name", "eth0", "netns", netns],
        ["link", "set", "dev", port, "master", "br0"],
        ["link", "set", "dev", port, "up"],
      ],
    });
    const seg = topology.segments.find((s) => s.name === host.segment);
    steps.push({ kind: "ip", netns, commands: hostCommands(host, seg) });
  }
  return steps;
}

function runStep(step: UnderlayStep): void {
  switch (step.kind) {
    case "netns":
      createNetns(step.netns);
      return;
    case "ip":
      mustRunSync(["ip", "-n", step.netns, "-batch", "-"], { stdin: renderBatch(step.commands) });
      return;
    case "sysctl":
      mustRunSync(inNetns(step.netns, ["sysctl", "-q", "-w", `${step.key}=${step.value}`]));
      return;
  }
}

export function buildUnderlay(topology: Topology, names: UnderlayNames, hosts: readonly HostSpec[]): void {
  for (const step of planUnderlay(topology, names, hosts)) runStep(step);
}
