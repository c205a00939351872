/**
 * What the agent sets up on its own node: forwarding, the VXLAN device (with the vxlan and
 * auto backends) and the CNI conflist pods are attached with (naming the node-local DNS server,
 * when the agent runs one, as the pods' nameserver) — done at start, again when the
 * blocks change after a lost lease, and (all but the conflist) on every sync and node-IP change,
 * so a device or setting removed by hand is put back.
 */
import { createHash } from "node:crypto";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { ensureSysctl } from "../linux/sysctl.ts";
import type { AgentOptions } from "./agent-options.ts";
import { writeNodeConflist } from "./cni-config-writer.ts";
import { usesVxlan } from "./peer-routes.ts";
import type { UplinkState } from "./uplink.ts";
import { ensureVxlanDevice, VXLAN_OVERHEAD_V4, VXLAN_OVERHEAD_V6 } from "./vxlan-device.ts";

/** A VTEP MAC derived from the node name: stable across restarts, locally administered. */
export function vtepMacFor(nodeName: string): string {
  const d = createHash("sha256").update(`vtep\0${nodeName}`).digest();
  const b = [...d.subarray(0, 6)];
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

export class LocalNetwork {
  constructor(
    private readonly o: AgentOptions,
    /** The marker the plugin's STATUS reads (named in the conflist). */
    private readonly readyFile: string,
  ) {}

  /** The MTU pods get: the uplink's, less the tunnel's overhead when some peer may be tunnelled. */
  podMtu(uplink: UplinkState): number {
    if (!usesVxlan(this.o.backend)) return uplink.mtu;
    const v6Underlay = !uplink.addresses.some((a) => a.family === 4);
    // With `auto` some peers are reached through the tunnel, so every pod gets the tunnel's MTU.
    return uplink.mtu - (v6Underlay ? VXLAN_OVERHEAD_V6 : VXLAN_OVERHEAD_V4);
  }

  /** Forwarding and the VXLAN device, as the blocks and the uplink require. */
  program(uplink: UplinkState, blocks: readonly IPPrefix[]): void {
    const families = new Set(blocks.map((b) => b.family));
    if (families.has(4)) ensureSysctl("net.ipv4.ip_forward", "1");
    if (families.has(6)) ensureSysctl("net.ipv6.conf.all.forwarding", "1");
    if (usesVxlan(this.o.backend)) {
      const local = uplink.addresses.find((a) => a.family === 4) ?? uplink.addresses[0];
      if (!local) throw new Error(`Uplink "${uplink.name}" has no address to carry VXLAN traffic`);
      ensureVxlanDevice({
        uplink: uplink.name,
        local,
        mac: vtepMacFor(this.o.nodeName),
        mtu: this.podMtu(uplink),
        blocks,
      });
    }
  }

  /** Programs the node and writes the conflist for these blocks; returns whether it changed. */
  setUp(uplink: UplinkState, blocks: readonly IPPrefix[]): boolean {
    this.program(uplink, blocks);
    return writeNodeConflist({
      confDir: this.o.cniConfDir,
      network: this.o.cniNetwork,
      blocks,
      mtu: this.podMtu(uplink),
      dataDir: this.o.stateDir,
      readyFile: this.readyFile,
      mode: this.o.cniMode,
      ...(this.o.dns
        ? { clusterDns: { nameservers: [this.o.dns.address], domain: this.o.clusterDomain } }
        : {}),
    });
  }
}
