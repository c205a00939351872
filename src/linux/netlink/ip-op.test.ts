import { describe, expect, test } from "bun:test";
import { formatIP } from "../../ipnet/address.ts";
import { formatPrefix } from "../../ipnet/prefix.ts";
import { parseIpCommand } from "./ip-op.ts";

const p = (line: string) => parseIpCommand(line.split(" "));

describe("parseIpCommand", () => {
  test("reads a veth pair with its peer in another namespace", () => {
    expect(
      p(
        "link add name pn1 address 02:00:00:00:00:01 mtu 1450 type veth peer name eth0 address 0a:58:0a:00:00:02 mtu 1450 netns /run/netns/x",
      ),
    ).toEqual({
      op: "add-veth",
      link: { name: "pn1", mac: "02:00:00:00:00:01", mtu: 1450 },
      peer: { name: "eth0", mac: "0a:58:0a:00:00:02", mtu: 1450 },
      peerNetns: "/run/netns/x",
    });
  });

  test("reads bridges, link settings and deletion", () => {
    expect(p("link add name br0 address 02:00:00:00:00:09 mtu 1500 type bridge")).toEqual({
      op: "add-bridge",
      link: { name: "br0", mac: "02:00:00:00:00:09", mtu: 1500 },
    });
    expect(p("link set dev pn1 up")).toEqual({ op: "set-up", dev: "pn1" });
    expect(p("link set dev pn1 master br0")).toEqual({ op: "set-master", dev: "pn1", master: "br0" });
    expect(p("link set dev pn1 alias podnet:n:c:eth0")).toEqual({
      op: "set-alias",
      dev: "pn1",
      alias: "podnet:n:c:eth0",
    });
    expect(p("link set dev pn1 type bridge_slave hairpin on")).toEqual({
      op: "set-hairpin",
      dev: "pn1",
      on: true,
    });
    expect(p("link del dev pn1")).toEqual({ op: "del-link", dev: "pn1" });
  });

  test("reads addresses with prefix length and nodad", () => {
    const op = p("addr replace fd00::1/64 dev br0 nodad");
    expect(op?.op).toBe("addr");
    if (op?.op !== "addr") throw new Error("not an addr op");
    expect([formatIP(op.ip), op.prefixLength, op.nodad, op.replace]).toEqual(["fd00::1", 64, true, true]);
  });

  test("reads routes: host routes without a length, gateways, scope and source", () => {
    const host = p("route add 10.0.0.1 dev eth0 scope link");
    if (host?.op !== "route-add") throw new Error("not a route");
    expect([formatPrefix(host.dst), host.scopeLink, host.via]).toEqual(["10.0.0.1/32", true, undefined]);
    const viaGw = p("route add 0.0.0.0/0 via 10.0.0.1 dev eth0");
    if (viaGw?.op !== "route-add") throw new Error("not a route");
    expect([formatPrefix(viaGw.dst), viaGw.via && formatIP(viaGw.via), viaGw.scopeLink]).toEqual([
      "0.0.0.0/0",
      "10.0.0.1",
      false,
    ]);
    const src = p("route add 10.0.0.5/32 dev pn1 scope link src 10.0.0.1");
    if (src?.op !== "route-add") throw new Error("not a route");
    expect(src.src && formatIP(src.src)).toBe("10.0.0.1");
  });

  test("anything else is left to ip itself", () => {
    for (const line of [
      "link add name x type vxlan id 1",
      "link set dev x mtu 1400",
      "addr add 10.0.0.1/24 dev x noprefixroute",
      "addr del 10.0.0.1/24 dev x",
      "route add 10.0.0.0/24 dev x metric 5",
      "route add 10.0.0.0/24 via 10.0.0.1",
      "route add 10.0.0.0/24 dev x scope host",
      "addr add not-an-ip/24 dev x",
      "link add name x address zz:00:00:00:00:00 type bridge",
      "link add name x type veth peer name y netns /a extra",
    ]) {
      expect(p(line)).toBeUndefined();
    }
  });
});
