import { describe, expect, test } from "bun:test";
import type { LearnedRoute } from "../linux/bird-status-parse.ts";
import {
  type BgpNodeView,
  type KernelRoute,
  NATIVE_PATH_ONE_SEGMENT_CLAIM,
  nativeCrossSegment,
  routerHoldsBlocks,
  vpcWithoutNat,
  type WithdrawalObservation,
  withdrawnAndRestored,
} from "./bgp-claims.ts";
import type { PairProbe, ProbeOutcome } from "./claims.ts";

const NODES: BgpNodeView[] = [
  { name: "node1", ip: "192.0.2.11", blocks: ["10.244.1.0/24"] },
  { name: "node3", ip: "198.51.100.13", blocks: ["10.244.3.0/24"] },
];

const kernel = (dst: string, gateway: string, protocol = "bird"): KernelRoute => ({ dst, gateway, protocol });

function learned(prefix: string, bgpNextHop: string | undefined, primary = true): LearnedRoute {
  return {
    prefix,
    family: "ipv4",
    table: "master4",
    type: "unicast",
    protocol: "lan1_v4_1",
    since: "2026-12-06 18:00:00",
    primary,
    preference: 100,
    nextHops: [],
    asPath: [],
    ...(bgpNextHop ? { bgpNextHop } : {}),
  };
}

const GOOD_KERNEL = [kernel("10.244.1.0/24", "192.0.2.11"), kernel("10.244.3.0/24", "198.51.100.13")];
const GOOD_BIRD = [learned("10.244.1.0/24", "192.0.2.11"), learned("10.244.3.0/24", "198.51.100.13")];

describe("routerHoldsBlocks", () => {
  test("holds when every block is a proto bird route via its node, learned with that node as BGP next hop", () => {
    const v = routerHoldsBlocks(NODES, GOOD_KERNEL, GOOD_BIRD);
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("10.244.3.0/24 via 198.51.100.13 (node3, lan1_v4_1)");
  });

  test("fails on a missing route, another protocol, a wrong or multipath next hop, or no BGP origin", () => {
    expect(routerHoldsBlocks(NODES, [GOOD_KERNEL[0] as KernelRoute], GOOD_BIRD).evidence).toContain(
      "no route to node3's 10.244.3.0/24",
    );
    expect(
      routerHoldsBlocks(
        NODES,
        [GOOD_KERNEL[0] as KernelRoute, kernel("10.244.3.0/24", "198.51.100.13", "static")],
        GOOD_BIRD,
      ).evidence,
    ).toContain("proto static, not bird");
    expect(
      routerHoldsBlocks(
        NODES,
        [GOOD_KERNEL[0] as KernelRoute, kernel("10.244.3.0/24", "198.51.100.53")],
        GOOD_BIRD,
      ).ok,
    ).toBe(false);
    const multipath: KernelRoute = {
      dst: "10.244.1.0/24",
      protocol: "bird",
      nexthops: [{ gateway: "192.0.2.11" }, { gateway: "192.0.2.51" }],
    };
    expect(
      routerHoldsBlocks(NODES, [multipath, GOOD_KERNEL[1] as KernelRoute], GOOD_BIRD).evidence,
    ).toContain("via 192.0.2.11,192.0.2.51");
    expect(
      routerHoldsBlocks(NODES, GOOD_KERNEL, [
        GOOD_BIRD[0] as LearnedRoute,
        learned("10.244.3.0/24", undefined),
      ]).evidence,
    ).toContain("BGP next hop none");
    expect(
      routerHoldsBlocks(NODES, GOOD_KERNEL, [
        GOOD_BIRD[0] as LearnedRoute,
        learned("10.244.3.0/24", "198.51.100.13", false),
      ]).evidence,
    ).toContain("no selected route for 10.244.3.0/24");
    expect(routerHoldsBlocks([{ ...(NODES[0] as BgpNodeView), blocks: [] }], [], []).ok).toBe(false);
    expect(routerHoldsBlocks([], [], []).ok).toBe(false);
  });

  test("compares prefixes by value (IPv6 written differently)", () => {
    const v6: BgpNodeView[] = [{ name: "node1", ip: "2001:db8:1::11", blocks: ["fd00:10:244:1::/64"] }];
    const v = routerHoldsBlocks(
      v6,
      [kernel("fd00:10:244:1:0::/64", "2001:db8:1:0::11")],
      [{ ...learned("fd00:10:244:1::/64", "2001:db8:1::11"), family: "ipv6" }],
    );
    expect(v.ok).toBe(true);
  });
});

function reply(to: string, from: string): ProbeOutcome {
  return {
    kind: "reply",
    probe: {
      reply: { pod: to, ip: "10.244.3.2", from, fromPort: 40000, pid: 10, netns: "net:[2]", proto: "tcp" },
      clientNetns: "net:[1]",
      clientPid: 20,
      replyFrom: "10.244.3.2",
      localIp: from,
      localPort: 40000,
    },
  };
}

const pair = (from: string, fromIp: string, to: string, seenAs = fromIp): PairProbe => ({
  from,
  fromIps: [fromIp],
  to,
  toIp: "10.244.3.2",
  outcome: reply(to, seenAs),
});

describe("nativeCrossSegment", () => {
  const facts = [
    { node: "node1", vxlanDevices: [], routes: [{ dst: "10.244.3.2", dev: "eth0" }] },
    { node: "node3", vxlanDevices: [], routes: [{ dst: "10.244.1.2", dev: "eth0" }] },
  ];

  test("holds with no VXLAN device, routes via eth0 and the sender's pod IP seen", () => {
    const v = nativeCrossSegment(facts, [pair("node1-a", "10.244.1.2", "node3-a")]);
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("no VXLAN device on 2 nodes, 2 routes via eth0");
  });

  test("fails on a VXLAN device, a route into another device, NAT, or nothing probed", () => {
    expect(
      nativeCrossSegment(
        [{ ...facts[0], vxlanDevices: ["podnet-vx"] } as (typeof facts)[0]],
        [pair("node1-a", "10.244.1.2", "node3-a")],
      ).evidence,
    ).toContain("node1 holds podnet-vx");
    expect(
      nativeCrossSegment(
        [{ node: "node1", vxlanDevices: [], routes: [{ dst: "10.244.3.2", dev: "podnet-vx" }] }],
        [pair("node1-a", "10.244.1.2", "node3-a")],
      ).evidence,
    ).toContain("via podnet-vx, not eth0");
    expect(
      nativeCrossSegment(facts, [pair("node1-a", "10.244.1.2", "node3-a", "192.0.2.11")]).evidence,
    ).toContain("(NAT?)");
    expect(nativeCrossSegment(facts, []).ok).toBe(false);
  });

  test("names the claim it was given (a lab whose nodes share one segment)", () => {
    const v = nativeCrossSegment(
      facts,
      [pair("node1-a", "10.244.1.2", "node2-a")],
      "eth0",
      NATIVE_PATH_ONE_SEGMENT_CLAIM,
    );
    expect(v.claim).toBe(NATIVE_PATH_ONE_SEGMENT_CLAIM);
    expect(v.ok).toBe(true);
  });
});

describe("vpcWithoutNat", () => {
  const external = { pod: "node1-a", nodeIps: ["192.0.2.11"], outcome: reply("external", "192.0.2.11") };

  test("holds when both directions keep the real addresses and the external host sees the node", () => {
    const v = vpcWithoutNat(
      [pair("vm", "198.51.100.50", "node1-a")],
      [pair("node1-a", "10.244.1.2", "vm")],
      external,
    );
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("the external host saw node1-a as 192.0.2.11 (its node)");
  });

  test("fails when the VM is seen as the router, a pod as its node, or the external host sees the pod IP", () => {
    expect(
      vpcWithoutNat(
        [pair("vm", "198.51.100.50", "node1-a", "192.0.2.1")],
        [pair("node1-a", "10.244.1.2", "vm")],
        external,
      ).evidence,
    ).toStartWith("VM → pods:");
    expect(
      vpcWithoutNat(
        [pair("vm", "198.51.100.50", "node1-a")],
        [pair("node1-a", "10.244.1.2", "vm", "192.0.2.11")],
        external,
      ).evidence,
    ).toStartWith("pods → VM:");
    expect(
      vpcWithoutNat([pair("vm", "198.51.100.50", "node1-a")], [pair("node1-a", "10.244.1.2", "vm")], {
        ...external,
        outcome: reply("external", "10.244.1.2"),
      }).evidence,
    ).toContain("not as its node (192.0.2.11)");
    expect(
      vpcWithoutNat([], [pair("node1-a", "10.244.1.2", "vm")], {
        ...external,
        outcome: { kind: "error", message: "timed out" },
      }).evidence,
    ).toContain("node1-a → external: timed out");
  });
});

describe("withdrawnAndRestored", () => {
  const good: WithdrawalObservation = {
    node: "node2",
    blocks: ["10.244.2.0/24"],
    holdSeconds: 9,
    presentBefore: true,
    goneMs: 40,
    birdStopped: true,
    backMs: 1200,
  };

  test("holds when the block goes within the hold time and comes back", () => {
    const v = withdrawnAndRestored(good);
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("gone from the router 40 ms after SIGTERM (hold time 9 s)");
  });

  test("fails when the block lingers past the hold time, stays, never returns, or BIRD survives", () => {
    expect(withdrawnAndRestored({ ...good, goneMs: 9500 }).evidence).toContain("more than the hold time");
    expect(withdrawnAndRestored({ ...good, goneMs: undefined }).evidence).toContain(
      "stayed in the router's table",
    );
    expect(withdrawnAndRestored({ ...good, backMs: undefined }).evidence).toContain("did not come back");
    expect(withdrawnAndRestored({ ...good, birdStopped: false }).evidence).toContain("BIRD kept running");
    expect(withdrawnAndRestored({ ...good, presentBefore: false }).ok).toBe(false);
    expect(withdrawnAndRestored({ ...good, failure: "cannot restart" }).evidence).toContain("cannot restart");
  });
});
