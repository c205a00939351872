import { describe, expect, test } from "bun:test";
import { BACKENDS, type NodeRecord } from "../cluster/node-record.ts";
import { formatIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { LocalView, PeerRoute } from "./peer-routes.ts";
import { BACKUP_ROUTE_METRIC, planPeerRoutes, usesVxlan } from "./peer-routes.ts";

const peer = (
  name: string,
  ip: string,
  block: string,
  backend: NodeRecord["backend"] = "auto",
): NodeRecord => ({
  name,
  nodeIPs: [ip],
  blocks: [block],
  backend,
  vtepMac: `02:00:00:00:00:0${name.slice(-1)}`,
});

const local = (backend: LocalView["backend"]): LocalView => ({
  name: "node1",
  backend,
  connected: [parsePrefix("192.0.2.0/24")],
  ownBlocks: [parsePrefix("10.244.1.0/24")],
  blockProblem: () => undefined,
});

const peers = [
  peer("node1", "192.0.2.11", "10.244.1.0/24"),
  peer("node2", "192.0.2.12", "10.244.2.0/24"),
  peer("node3", "198.51.100.13", "10.244.3.0/24"),
];

const show = (r: PeerRoute) => {
  const metric = r.kind !== "bgp" && r.metric !== undefined ? ` metric ${r.metric}` : "";
  switch (r.kind) {
    case "direct":
      return `${formatPrefix(r.block)} via ${formatIP(r.via)}${metric}`;
    case "bgp":
      return `${formatPrefix(r.block)} bgp next hop ${r.nextHop ? formatIP(r.nextHop) : "none"}`;
    case "vxlan":
      return `${formatPrefix(r.block)} vxlan vtep ${formatIP(r.vtep)} ${r.vtepMac} at ${formatIP(r.underlay)}${metric}`;
  }
};

describe("planPeerRoutes", () => {
  test("a block that is not the peer's, or that overlaps this node's own ranges, is skipped with the reason", () => {
    const view: LocalView = {
      ...local("auto"),
      blockProblem: (p, b) =>
        p === "node2" && formatPrefix(b) === "10.244.2.0/24" ? undefined : "not leased to it",
    };
    const plan = planPeerRoutes(view, [
      ...peers,
      peer("rogue", "192.0.2.66", "10.244.2.0/24"),
      peer("evil", "192.0.2.67", "0.0.0.0/0"),
    ]);
    expect(plan.routes.map(show)).toEqual(["10.244.2.0/24 via 192.0.2.12"]);
    expect(plan.skipped.map((s) => `${s.peer} ${s.reason}`)).toEqual([
      "node3 not leased to it",
      "rogue not leased to it",
      "evil not leased to it",
    ]);
    const own = planPeerRoutes({ ...local("auto") }, [
      peer("clash", "192.0.2.68", "10.244.1.0/24"),
      peer("lan", "192.0.2.69", "192.0.2.0/25"),
    ]);
    expect(own.routes).toEqual([]);
    expect(own.skipped.map((s) => s.reason)).toEqual([
      "it overlaps this node's own block or a directly connected subnet",
      "it overlaps this node's own block or a directly connected subnet",
    ]);
  });

  test("auto: direct for peers on a connected subnet, VXLAN for the others, never itself", () => {
    const plan = planPeerRoutes(local("auto"), peers);
    expect(plan.routes.map(show)).toEqual([
      "10.244.2.0/24 via 192.0.2.12",
      "10.244.3.0/24 vxlan vtep 10.244.3.0 02:00:00:00:00:03 at 198.51.100.13",
    ]);
    expect(plan.skipped).toEqual([]);
  });

  test("vxlan: every peer through the tunnel", () => {
    expect(planPeerRoutes(local("vxlan"), peers).routes.map((r) => r.kind)).toEqual(["vxlan", "vxlan"]);
  });

  test("host-gw: a peer behind a router is skipped with the reason", () => {
    const plan = planPeerRoutes(local("host-gw"), peers);
    expect(plan.routes.map(show)).toEqual(["10.244.2.0/24 via 192.0.2.12"]);
    expect(plan.skipped).toHaveLength(1);
    expect(plan.skipped[0]?.peer).toBe("node3");
    expect(plan.skipped[0]?.reason).toContain("not on a directly connected subnet");
  });

  test("a host-gw peer cannot be reached through VXLAN", () => {
    const plan = planPeerRoutes(local("vxlan"), [peer("node4", "198.51.100.14", "10.244.4.0/24", "host-gw")]);
    expect(plan.routes).toEqual([]);
    expect(plan.skipped[0]?.reason).toContain("no VXLAN device");
  });

  test("IPv6 blocks route directly via the peer's IPv6 node IP, or through the IPv4 tunnel", () => {
    const dual: NodeRecord = {
      ...peer("node2", "192.0.2.12", "10.244.2.0/24"),
      nodeIPs: ["192.0.2.12", "2001:db8::12"],
      blocks: ["10.244.2.0/24", "fd00:244:2::/64"],
    };
    const v6local: LocalView = {
      ...local("auto"),
      connected: [parsePrefix("192.0.2.0/24"), parsePrefix("2001:db8::/64")],
    };
    expect(planPeerRoutes(v6local, [dual]).routes.map(show)).toEqual([
      "10.244.2.0/24 via 192.0.2.12",
      "fd00:244:2::/64 via 2001:db8::12",
    ]);
    expect(planPeerRoutes(local("auto"), [dual]).routes.map(show)[1]).toBe(
      "fd00:244:2::/64 vxlan vtep fd00:244:2:: 02:00:00:00:00:02 at 192.0.2.12",
    );
  });

  test("bgp: every valid peer block is BIRD's to route, whatever the peer's segment or backend", () => {
    const plan = planPeerRoutes(local("bgp"), [
      ...peers,
      peer("node4", "198.51.100.14", "10.244.4.0/24", "host-gw"),
    ]);
    expect(plan.routes.map(show)).toEqual([
      "10.244.2.0/24 bgp next hop 192.0.2.12",
      "10.244.3.0/24 bgp next hop 198.51.100.13",
      "10.244.4.0/24 bgp next hop 198.51.100.14",
    ]);
    expect(plan.skipped).toEqual([]);
    const bogus = planPeerRoutes({ ...local("bgp"), blockProblem: () => "not leased to it" }, peers);
    expect(bogus.routes).toEqual([]);
    expect(bogus.skipped.map((s) => s.peer)).toEqual(["node2", "node3"]);
  });

  test("auto under BGP: the same direct and VXLAN routes, at the backup metric", () => {
    const plain = planPeerRoutes(local("auto"), peers);
    const backup = planPeerRoutes({ ...local("auto"), bgpBackup: true }, peers);
    expect(backup.routes.map(show)).toEqual(
      plain.routes.map((r) => `${show(r)} metric ${BACKUP_ROUTE_METRIC}`),
    );
    expect(BACKUP_ROUTE_METRIC).toBeGreaterThan(32);
  });

  test("auto: a peer on the bgp backend beyond the segment has no tunnel to reach", () => {
    const plan = planPeerRoutes(local("auto"), [peer("node3", "198.51.100.13", "10.244.3.0/24", "bgp")]);
    expect(plan.routes).toEqual([]);
    expect(plan.skipped.map((s) => s.reason)).toEqual([
      "it runs the bgp backend and has no VXLAN device: only a BGP route reaches it",
    ]);
  });

  test("only vxlan and auto need a VXLAN device", () => {
    expect(BACKENDS.filter(usesVxlan)).toEqual(["vxlan", "auto"]);
  });
});
