/** parseRoutesJson over real `ip -j route show` / `ip -j route get` output captured in a scratch netns. */
import { describe, expect, test } from "bun:test";
import { AddressParseError } from "../ipnet/errors.ts";
import { InvalidInterfaceNameError } from "./kernel-read.ts";
import { lookupRoute, parseRoutesJson, RouteQueryError } from "./route-facts.ts";

const SHOW_V4 =
  '[{"type":"unreachable","dst":"10.99.0.0/16","flags":[]},{"dst":"10.244.1.0/24","dev":"br0","protocol":"kernel","scope":"link","prefsrc":"10.244.1.1","flags":["linkdown"]},{"dst":"10.244.2.0/24","gateway":"10.244.2.0","dev":"vx0","protocol":"200","flags":["onlink"]},{"dst":"192.0.2.0/24","dev":"veth0","protocol":"kernel","scope":"link","prefsrc":"192.0.2.1","flags":[]},{"dst":"198.51.100.0/24","gateway":"192.0.2.2","dev":"veth0","flags":[]}]';
const SHOW_V6 =
  '[{"dst":"2001:db8::/64","dev":"veth0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"},{"dst":"fe80::/64","dev":"veth0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"}]';
const GET_VXLAN =
  '[{"dst":"10.244.2.5","gateway":"10.244.2.0","dev":"vx0","prefsrc":"10.244.1.0","flags":[],"uid":0,"cache":[]}]';
const GET_IIF =
  '[{"dst":"198.51.100.7","from":"10.244.1.5","gateway":"192.0.2.2","dev":"veth0","flags":[],"cache":[],"iif":"br0"}]';
const GET_LOCAL =
  '[{"type":"local","dst":"192.0.2.1","dev":"lo","prefsrc":"192.0.2.1","flags":[],"uid":0,"cache":["local"]}]';
const SHOW_DEFAULT = '[{"dst":"default","gateway":"192.0.2.2","dev":"veth0","flags":[]}]';
const MULTIPATH =
  '[{"dst":"10.9.0.0/16","flags":[],"nexthops":[{"gateway":"192.0.2.7","dev":"veth0","weight":1,"flags":[]},{"gateway":"192.0.2.8","dev":"veth0","weight":1,"flags":["onlink"]}]}]';

describe("parseRoutesJson", () => {
  test("reads type, prefix, device, next hop, source, protocol, scope and onlink", () => {
    expect(parseRoutesJson(SHOW_V4)).toEqual([
      { dst: "10.99.0.0/16", onlink: false, type: "unreachable" },
      {
        dst: "10.244.1.0/24",
        dev: "br0",
        src: "10.244.1.1",
        proto: "kernel",
        scope: "link",
        onlink: false,
        type: "unicast",
      },
      { dst: "10.244.2.0/24", dev: "vx0", via: "10.244.2.0", proto: "200", onlink: true, type: "unicast" },
      {
        dst: "192.0.2.0/24",
        dev: "veth0",
        src: "192.0.2.1",
        proto: "kernel",
        scope: "link",
        onlink: false,
        type: "unicast",
      },
      { dst: "198.51.100.0/24", dev: "veth0", via: "192.0.2.2", onlink: false, type: "unicast" },
    ]);
    expect(parseRoutesJson(SHOW_V6).map((r) => r.dst)).toEqual(["2001:db8::/64", "fe80::/64"]);
    expect(parseRoutesJson(SHOW_DEFAULT)[0]).toMatchObject({ dst: "default", via: "192.0.2.2" });
  });

  test("a route get answer is a host route of the address asked for", () => {
    expect(parseRoutesJson(GET_VXLAN)).toEqual([
      {
        dst: "10.244.2.5/32",
        dev: "vx0",
        via: "10.244.2.0",
        src: "10.244.1.0",
        onlink: false,
        type: "unicast",
      },
    ]);
    expect(parseRoutesJson(GET_IIF)[0]).toMatchObject({
      dst: "198.51.100.7/32",
      dev: "veth0",
      via: "192.0.2.2",
    });
    expect(parseRoutesJson(GET_LOCAL)[0]).toMatchObject({ type: "local", dev: "lo" });
    expect(parseRoutesJson('[{"dst":"2001:db8::5","from":"::","dev":"veth0","flags":[]}]')[0]?.dst).toBe(
      "2001:db8::5/128",
    );
  });

  test("a multipath route stands for its first next hop", () => {
    expect(parseRoutesJson(MULTIPATH)[0]).toMatchObject({ dev: "veth0", via: "192.0.2.7", onlink: false });
  });

  test("no output is no routes; an entry without dst is an error", () => {
    expect(parseRoutesJson("")).toEqual([]);
    expect(() => parseRoutesJson('[{"dev":"eth0"}]')).toThrow("has no dst");
  });
});

describe("lookupRoute input checks (before anything runs)", () => {
  test("refuses what is not an address or an interface name", async () => {
    await expect(lookupRoute({ dst: "10.0.0.1; reboot" })).rejects.toThrow(AddressParseError);
    await expect(lookupRoute({ dst: "10.0.0.1", from: "x" })).rejects.toThrow(AddressParseError);
    await expect(lookupRoute({ dst: "10.0.0.1", iif: "a b" })).rejects.toThrow(InvalidInterfaceNameError);
    await expect(lookupRoute({ dst: "10.0.0.1", from: "fd00::1" })).rejects.toThrow(RouteQueryError);
  });
});
