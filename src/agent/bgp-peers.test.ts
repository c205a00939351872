import { describe, expect, test } from "bun:test";
import type { BgpConfig, BgpPeer } from "../cluster/bgp-config.ts";
import { formatIP, parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { type BgpNodeView, selectBgpPeers } from "./bgp-peers.ts";

const config = (peers: BgpPeer[], more: Partial<BgpConfig> = {}): BgpConfig => ({
  asNumber: 64512,
  peers,
  holdTimeSeconds: 90,
  keepaliveSeconds: 30,
  gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
  vpcCidrs: [],
  ...more,
});

const node = (name: string, addrs: string[], podFamilies: (4 | 6)[] = [4]): BgpNodeView => ({
  name,
  nodeIPs: addrs.map((a) => parseIP(a.split("/")[0] as string)),
  connected: addrs.map((a) => parsePrefix(a, { strict: false })),
  podFamilies,
});

const lan1 = { name: "router-lan1", address: "192.0.2.1", asNumber: 64512 };
const lan2 = { name: "router-lan2", address: "198.51.100.1", asNumber: 64512 };
const names = (c: BgpConfig, n: BgpNodeView) => selectBgpPeers(c, n).sessions.map((s) => s.peer);

describe("selectBgpPeers", () => {
  test("a peer without selector serves the nodes on its subnet only", () => {
    const c = config([lan1, lan2]);
    expect(names(c, node("node1", ["192.0.2.11/24"]))).toEqual(["router-lan1"]);
    expect(names(c, node("node3", ["198.51.100.13/24"]))).toEqual(["router-lan2"]);
    expect(names(c, node("far", ["203.0.113.5/24"]))).toEqual([]);
  });

  test("a selector by CIDR and names needs both to hold", () => {
    const rr = {
      name: "rr",
      address: "203.0.113.9",
      asNumber: 64512,
      selector: { cidr: "192.0.2.0/24", nodes: ["node1"] },
    };
    const c = config([rr]);
    expect(names(c, node("node1", ["192.0.2.11/24"]))).toEqual(["rr"]);
    expect(names(c, node("node2", ["192.0.2.12/24"]))).toEqual([]);
    expect(names(c, node("node1", ["198.51.100.11/24"]))).toEqual([]);
    const byName = { ...rr, selector: { nodes: ["node2"] } };
    expect(names(config([byName]), node("node2", ["198.51.100.12/24"]))).toEqual(["rr"]);
  });

  test("iBGP when the ASes match, eBGP with a local AS override", () => {
    const tor = { name: "tor", address: "192.0.2.1", asNumber: 64500, localAsNumber: 65001 };
    const [ibgp] = selectBgpPeers(config([lan1]), node("node1", ["192.0.2.11/24"])).sessions;
    const [ebgp] = selectBgpPeers(config([tor]), node("node1", ["192.0.2.11/24"])).sessions;
    expect([ibgp?.kind, ibgp?.localAsNumber]).toEqual(["ibgp", 64512]);
    expect([ebgp?.kind, ebgp?.localAsNumber, ebgp?.asNumber]).toEqual(["ebgp", 65001, 64500]);
  });

  test("sources the session from the node IP on the peer's subnet", () => {
    const n = node("node1", ["2001:db8:9::11/64", "192.0.2.11/24", "2001:db8:1::11/64"], [6]);
    const peer = { name: "r6", address: "2001:db8:1::1", asNumber: 64512 };
    const [s] = selectBgpPeers(config([peer]), n).sessions;
    expect(s && formatIP(s.localAddress)).toBe("2001:db8:1::11");
  });

  test("timers: the peer's hold time wins; keepalive stays below it", () => {
    const n = node("node1", ["192.0.2.11/24"]);
    const [a] = selectBgpPeers(config([lan1]), n).sessions;
    expect([a?.holdTimeSeconds, a?.keepaliveSeconds]).toEqual([90, 30]);
    const [b] = selectBgpPeers(config([{ ...lan1, holdTimeSeconds: 9 }]), n).sessions;
    expect([b?.holdTimeSeconds, b?.keepaliveSeconds]).toEqual([9, 3]);
    const [c] = selectBgpPeers(config([{ ...lan1, holdTimeSeconds: 0 }]), n).sessions;
    expect([c?.holdTimeSeconds, c?.keepaliveSeconds]).toEqual([0, undefined]);
  });

  test("one IPv4 session carries both families unless an IPv6 session exists", () => {
    const dual = node("node1", ["192.0.2.11/24", "2001:db8:1::11/64"], [4, 6]);
    expect(selectBgpPeers(config([lan1]), dual).sessions.map((s) => s.families)).toEqual([[4, 6]]);
    const r6 = { name: "router-lan1-v6", address: "2001:db8:1::1", asNumber: 64512 };
    expect(selectBgpPeers(config([lan1, r6]), dual).sessions.map((s) => s.families)).toEqual([[4], [6]]);
  });

  test("an IPv4 session carrying IPv6 names the node's IPv6 address as the IPv6 next hop", () => {
    const [dual] = selectBgpPeers(
      config([lan1]),
      node("node1", ["192.0.2.11/24", "2001:db8:1::11/64"], [4, 6]),
    ).sessions;
    expect(dual?.families).toEqual([4, 6]);
    expect(dual?.nextHop6 && formatIP(dual.nextHop6)).toBe("2001:db8:1::11");
    // After the node's IPv6 address moved, the session names the new one (and the config changes).
    const [moved] = selectBgpPeers(
      config([lan1]),
      node("node1", ["192.0.2.11/24", "2001:db8:1::52/64"], [4, 6]),
    ).sessions;
    expect(moved?.nextHop6 && formatIP(moved.nextHop6)).toBe("2001:db8:1::52");
    const [v4] = selectBgpPeers(config([lan1]), node("node1", ["192.0.2.11/24"])).sessions;
    expect(v4?.nextHop6).toBeUndefined();
  });

  test("IPv4 pods behind an IPv6-only peer are reported as not announced", () => {
    const r6 = { name: "r6", address: "2001:db8:1::1", asNumber: 64512 };
    const sel = selectBgpPeers(config([r6]), node("node1", ["2001:db8:1::11/64"], [4, 6]));
    expect(sel.sessions.map((s) => s.families)).toEqual([[6]]);
    expect(sel.unannounced).toEqual([
      { family: 4, reason: expect.stringContaining("IPv4 routes over an IPv6 session") },
    ]);
  });

  test("skips peers it cannot use, naming why, and keeps the others", () => {
    const bad: BgpPeer[] = [
      { ...lan1, name: "pw", password: 'x"y' },
      { ...lan1, name: "Bad_Name" },
      { ...lan1, name: "self", address: "192.0.2.11" },
      { ...lan1, name: "hold", holdTimeSeconds: 2 },
      { ...lan1, name: "as", asNumber: 0 },
      { name: "v6", address: "2001:db8::1", asNumber: 1, selector: { nodes: ["node1"] } },
      lan1,
      { ...lan1, address: "192.0.2.2" },
    ];
    const sel = selectBgpPeers(config(bad), node("node1", ["192.0.2.11/24"]));
    expect(sel.sessions.map((s) => s.peer)).toEqual(["router-lan1"]);
    expect(Object.fromEntries(sel.skipped.map((s) => [s.peer, s.reason]))).toEqual({
      pw: expect.stringContaining("password"),
      Bad_Name: expect.stringContaining("name"),
      self: expect.stringContaining("own"),
      hold: expect.stringContaining("hold time"),
      as: expect.stringContaining("AS"),
      v6: expect.stringContaining("no IPv6 node IP"),
      "router-lan1": expect.stringContaining("same name"),
    });
  });
});
