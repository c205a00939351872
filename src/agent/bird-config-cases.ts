/**
 * The golden cases of the rendered BIRD config (fixtures/bird/NAME.conf): the lab's iBGP to the
 * segment router, dual stack with MD5 and graceful restart, eBGP per rack, an IPv6-only node, and
 * a node that holds no block yet. Shared by the golden test and the `bird -p` check.
 */
import type { BgpConfig } from "../cluster/bgp-config.ts";
import { parseIP } from "../ipnet/address.ts";
import { parsePrefix, prefixFromIP } from "../ipnet/prefix.ts";
import { selectBgpPeers } from "./bgp-peers.ts";
import { bgpRouterId } from "./bgp-router-id.ts";
import type { BirdConfigInput } from "./bird-config.ts";

/** The lab's peering: one router per segment as iBGP peer, its timers; shared by the BGP unit tests. */
export const LAB_PEERING: BgpConfig = {
  asNumber: 64512,
  peers: [{ name: "router-lan1", address: "192.0.2.1", asNumber: 64512 }],
  holdTimeSeconds: 9,
  keepaliveSeconds: 3,
  gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
  vpcCidrs: [],
};

interface Node {
  readonly name: string;
  readonly interfaces: readonly string[];
  readonly blocks: readonly string[];
  readonly clusterCidrs: readonly string[];
}

/** What the speaker computes for a node: the peers it selects, rendered into the input. */
export function caseInput(config: BgpConfig, node: Node): BirdConfigInput {
  const addrs = node.interfaces.map((cidr) => {
    const [ip = "", len = "0"] = cidr.split("/");
    return { ip: parseIP(ip), len: Number(len) };
  });
  const nodeIPs = addrs.map((a) => a.ip);
  const clusterCidrs = node.clusterCidrs.map((c) => parsePrefix(c));
  const selection = selectBgpPeers(config, {
    name: node.name,
    nodeIPs,
    connected: addrs.map((a) => prefixFromIP(a.ip, a.len)),
    podFamilies: [...new Set(clusterCidrs.map((c) => c.family))],
  });
  return {
    routerId: bgpRouterId(node.name, nodeIPs),
    nodeName: node.name,
    uplink: "eth0",
    blocks: node.blocks.map((b) => parsePrefix(b)),
    clusterCidrs,
    nodeBlockLength: { ipv4: 24, ipv6: 64 },
    sessions: selection.sessions,
    gracefulRestart: config.gracefulRestart,
  };
}

export const BIRD_CASES: Readonly<Record<string, BirdConfigInput>> = {
  "ipv4-ibgp": caseInput(LAB_PEERING, {
    name: "node1",
    interfaces: ["192.0.2.11/24"],
    blocks: ["10.244.1.0/24"],
    clusterCidrs: ["10.244.0.0/16"],
  }),
  "dual-stack-md5-gr": caseInput(
    {
      ...LAB_PEERING,
      holdTimeSeconds: 90,
      keepaliveSeconds: 30,
      gracefulRestart: { enabled: true, restartTimeSeconds: 120 },
      peers: [
        { name: "router-lan1", address: "192.0.2.1", asNumber: 64512, password: "s3cr3t pass!" },
        { name: "router-lan2", address: "198.51.100.1", asNumber: 64512 },
      ],
    },
    {
      name: "node1",
      interfaces: ["192.0.2.11/24", "2001:db8:1::11/64"],
      blocks: ["10.244.1.0/24", "fd00:10:244:1::/64"],
      clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
    },
  ),
  "ebgp-per-rack": caseInput(
    {
      ...LAB_PEERING,
      asNumber: 64512,
      peers: [
        {
          name: "tor-rack7",
          address: "198.51.100.1",
          asNumber: 64500,
          localAsNumber: 65007,
          holdTimeSeconds: 30,
          allowLocalAs: true,
        },
        {
          name: "spine",
          address: "203.0.113.9",
          asNumber: 64501,
          multihop: 2,
          selector: { cidr: "198.51.100.0/24", nodes: ["node3"] },
        },
      ],
    },
    {
      name: "node3",
      interfaces: ["198.51.100.13/24"],
      blocks: ["10.244.3.0/24", "10.250.0.0/24"],
      clusterCidrs: ["10.244.0.0/16", "10.250.0.0/20"],
    },
  ),
  "ipv6-only": caseInput(
    { ...LAB_PEERING, peers: [{ name: "router-lan1", address: "2001:db8:1::1", asNumber: 64512 }] },
    {
      name: "node1",
      interfaces: ["2001:db8:1::11/64"],
      blocks: ["fd00:10:244:1::/64"],
      clusterCidrs: ["fd00:10:244::/56"],
    },
  ),
  "no-blocks-yet": caseInput(LAB_PEERING, {
    name: "node2",
    interfaces: ["192.0.2.12/24"],
    blocks: [],
    clusterCidrs: ["10.244.0.0/16"],
  }),
};
