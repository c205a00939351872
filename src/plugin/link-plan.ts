/**
 * Pure planning of the kernel changes for one attachment: which `ip` commands run on the host
 * side and which inside the pod's namespace. Kept apart from execution so the exact commands can
 * be tested without a kernel and read by a newcomer.
 */

import { unhandled } from "../base/unhandled.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatInterfaceCIDR, formatPrefix } from "../ipnet/prefix.ts";
import type { IpCommand } from "../linux/ip.ts";
import type { Mode } from "./config.ts";
import { linkLocalFromMac } from "./naming.ts";

export interface PodAddress {
  readonly ip: IPAddress;
  /** Prefix length as handed out by IPAM (the subnet's). */
  readonly prefixLength: number;
  readonly gateway?: IPAddress;
}

export interface PodRoute {
  readonly dst: IPPrefix;
  readonly gw?: IPAddress;
}

export interface AttachInput {
  readonly mode: Mode;
  readonly bridge: string;
  /** Undefined when the bridge must be created. */
  readonly existingBridge: boolean;
  readonly bridgeMac: string;
  readonly mtu: number;
  readonly hairpin: boolean;
  readonly hostVeth: string;
  readonly hostMac: string;
  readonly hostAlias: string;
  readonly ifname: string;
  readonly containerMac: string;
  readonly netnsPath: string;
  readonly addresses: readonly PodAddress[];
  readonly routes: readonly PodRoute[];
}

export interface AttachPlan {
  /** Creates the bridge (if needed) and its gateway addresses. */
  readonly bridgeSetup: readonly IpCommand[];
  /** Creates the veth pair with the peer already moved into the pod's namespace. */
  readonly vethCreate: IpCommand;
  /** Host side of the veth after creation (bridge port or routed end). */
  readonly hostSetup: readonly IpCommand[];
  /** Inside the pod: addresses, link up, routes. */
  readonly container: readonly IpCommand[];
}

const hostBits = (ip: IPAddress): number => (ip.family === 4 ? 32 : 128);

/** IPv6 duplicate address detection would hold the address "tentative" for a second or more. */
const nodad = (ip: IPAddress): string[] => (ip.family === 6 ? ["nodad"] : []);

/**
 * A router's link-local address, configured before the link comes up so it never goes through
 * DAD. The kernel sends the neighbour solicitation for a *forwarded* IPv6 packet from the
 * outgoing link's link-local address, and sends none while that address is still tentative
 * (ndisc_send_ns); with the kernel's own address, traffic routed to a new pod is dropped for
 * the first second or two. The address is the EUI-64 one the kernel would generate, so its own
 * attempt to add it when the link comes up finds it present and changes nothing.
 */
function routerLinkLocal(input: AttachInput, dev: string, mac: string, verb: "add" | "replace"): IpCommand[] {
  if (!input.addresses.some((a) => a.ip.family === 6)) return [];
  return [["addr", verb, formatInterfaceCIDR(linkLocalFromMac(mac), 64), "dev", dev, "nodad"]];
}

function gatewayFor(addresses: readonly PodAddress[], family: 4 | 6): IPAddress | undefined {
  return addresses.find((a) => a.ip.family === family && a.gateway)?.gateway;
}

/** The address actually configured in the pod: ptp mode uses host routes, so a /32 (/128). */
export function configuredPrefixLength(mode: Mode, a: PodAddress): number {
  return mode === "ptp" ? hostBits(a.ip) : a.prefixLength;
}

function containerCommands(input: AttachInput): IpCommand[] {
  const { ifname } = input;
  const cmds: IpCommand[] = [];
  for (const a of input.addresses) {
    cmds.push([
      "addr",
      "add",
      formatInterfaceCIDR(a.ip, configuredPrefixLength(input.mode, a)),
      "dev",
      ifname,
      ...nodad(a.ip),
    ]);
  }
  cmds.push(["link", "set", "dev", ifname, "up"]);
  if (input.mode === "ptp") {
    // The gateway is not inside a /32, so it must be declared reachable on the link first.
    const gateways = new Set<string>();
    for (const a of input.addresses) if (a.gateway) gateways.add(formatIP(a.gateway));
    for (const gw of gateways) cmds.push(["route", "add", gw, "dev", ifname, "scope", "link"]);
  }
  for (const r of input.routes) {
    const gw = r.gw ?? gatewayFor(input.addresses, r.dst.family);
    const via = gw ? ["via", formatIP(gw)] : [];
    cmds.push(["route", "add", formatPrefix(r.dst), ...via, "dev", ifname]);
  }
  return cmds;
}

function bridgeCommands(input: AttachInput): IpCommand[] {
  const cmds: IpCommand[] = [];
  if (!input.existingBridge) {
    cmds.push([
      "link",
      "add",
      "name",
      input.bridge,
      "address",
      input.bridgeMac,
      "mtu",
      String(input.mtu),
      "type",
      "bridge",
    ]);
  }
  // `replace` is idempotent: the first pod adds the gateway address, later pods change nothing.
  for (const a of input.addresses) {
    if (a.gateway)
      cmds.push([
        "addr",
        "replace",
        formatInterfaceCIDR(a.gateway, a.prefixLength),
        "dev",
        input.bridge,
        ...nodad(a.gateway),
      ]);
  }
  // `replace`, as a concurrent ADD that joined the bridge may have brought it up already.
  if (!input.existingBridge) cmds.push(...routerLinkLocal(input, input.bridge, input.bridgeMac, "replace"));
  cmds.push(["link", "set", "dev", input.bridge, "up"]);
  return cmds;
}

function hostCommands(input: AttachInput): IpCommand[] {
  const { hostVeth } = input;
  const cmds: IpCommand[] = [];
  switch (input.mode) {
    case "bridge":
      cmds.push(["link", "set", "dev", hostVeth, "master", input.bridge]);
      // Hairpin lets a pod reach itself through a Service address that is DNATed back to it.
      if (input.hairpin) cmds.push(["link", "set", "dev", hostVeth, "type", "bridge_slave", "hairpin", "on"]);
      cmds.push(["link", "set", "dev", hostVeth, "up"]);
      break;
    case "ptp": {
      // The host veth routes for the pod (it is the pod's gateway); see routerLinkLocal.
      cmds.push(...routerLinkLocal(input, hostVeth, input.hostMac, "add"));
      cmds.push(["link", "set", "dev", hostVeth, "up"]);
      const seen = new Set<string>();
      for (const a of input.addresses) {
        if (a.gateway && !seen.has(formatIP(a.gateway))) {
          seen.add(formatIP(a.gateway));
          cmds.push([
            "addr",
            "add",
            formatInterfaceCIDR(a.gateway, hostBits(a.gateway)),
            "dev",
            hostVeth,
            ...nodad(a.gateway),
          ]);
        }
        const src = a.gateway && a.gateway.family === a.ip.family ? ["src", formatIP(a.gateway)] : [];
        cmds.push([
          "route",
          "add",
          formatInterfaceCIDR(a.ip, hostBits(a.ip)),
          "dev",
          hostVeth,
          "scope",
          "link",
          ...src,
        ]);
      }
      break;
    }
    default: {
      unhandled(input.mode, (shown) => new Error(`unknown mode ${shown}`));
    }
  }
  return cmds;
}

export function planAttach(input: AttachInput): AttachPlan {
  const mtu = String(input.mtu);
  return {
    bridgeSetup: input.mode === "bridge" ? bridgeCommands(input) : [],
    vethCreate: [
      "link",
      "add",
      "name",
      input.hostVeth,
      "address",
      input.hostMac,
      "mtu",
      mtu,
      "type",
      "veth",
      "peer",
      "name",
      input.ifname,
      "address",
      input.containerMac,
      "mtu",
      mtu,
      "netns",
      input.netnsPath,
    ],
    hostSetup: [["link", "set", "dev", input.hostVeth, "alias", input.hostAlias], ...hostCommands(input)],
    container: containerCommands(input),
  };
}
