/**
 * Builds the lab's underlay in namespaces: one "switch" namespace per segment holding a Linux
 * bridge, a router namespace with a leg on every segment (forwarding on), and a namespace per
 * host plugged into its segment's switch with its address and a default route via the router.
 */

import { mustRunSync } from "../linux/exec.ts";
import type { IpCommand } from "../linux/ip.ts";
import { renderBatch } from "../linux/ip.ts";
import { createNetns, inNetns } from "../linux/netns.ts";
import type { HostSpec, Topology } from "./topology.ts";

export interface UnderlayNames {
  readonly switchNetns: (segment: string) => string;
  readonly routerNetns: string;
  readonly hostNetns: (host: string) => string;
}

function batchIn(netns: string, commands: readonly IpCommand[]): void {
  mustRunSync(["ip", "-n", netns, "-batch", "-"], { stdin: renderBatch(commands) });
}

function sysctlIn(netns: string, key: string, value: string): void {
  mustRunSync(inNetns(netns, ["sysctl", "-q", "-w", `${key}=${value}`]));
}

/** Plugs a host namespace into a segment's switch: `eth0` inside, a bridge port outside. */
function plug(names: UnderlayNames, host: HostSpec, gateway: string | undefined, port: string): void {
  const sw = names.switchNetns(host.segment);
  const netns = names.hostNetns(host.name);
  batchIn(sw, [
    ["link", "add", "name", port, "type", "veth", "peer", "name", "eth0", "netns", netns],
    ["link", "set", "dev", port, "master", "br0"],
    ["link", "set", "dev", port, "up"],
  ]);
  batchIn(netns, [
    ["addr", "add", host.address, "dev", "eth0"],
    ["link", "set", "dev", "eth0", "up"],
    ...(gateway ? [["route", "add", "default", "via", gateway]] : []),
  ]);
}

export function buildUnderlay(topology: Topology, names: UnderlayNames, hosts: readonly HostSpec[]): void {
  for (const seg of topology.segments) {
    const sw = names.switchNetns(seg.name);
    createNetns(sw);
    batchIn(sw, [
      ["link", "add", "name", "br0", "type", "bridge"],
      ["link", "set", "dev", "br0", "up"],
    ]);
  }
  createNetns(names.routerNetns);
  sysctlIn(names.routerNetns, "net.ipv4.ip_forward", "1");
  for (const seg of topology.segments) {
    const prefixLength = seg.cidr.split("/")[1];
    const leg = `r-${seg.name}`;
    batchIn(names.switchNetns(seg.name), [
      ["link", "add", "name", "p-router", "type", "veth", "peer", "name", leg, "netns", names.routerNetns],
      ["link", "set", "dev", "p-router", "master", "br0"],
      ["link", "set", "dev", "p-router", "up"],
    ]);
    batchIn(names.routerNetns, [
      ["addr", "add", `${seg.gateway}/${prefixLength}`, "dev", leg],
      ["link", "set", "dev", leg, "up"],
    ]);
  }
  for (const host of hosts) {
    createNetns(names.hostNetns(host.name));
    const seg = topology.segments.find((s) => s.name === host.segment);
    plug(names, host, seg?.gateway, `p-${host.name}`.slice(0, 15));
  }
}
