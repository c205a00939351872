import { describe, expect, test } from "bun:test";
import { parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import type { AttachInput } from "./link-plan.ts";
import { configuredPrefixLength, planAttach } from "./link-plan.ts";

const base: AttachInput = {
  mode: "bridge",
  bridge: "podnet0",
  existingBridge: false,
  bridgeMac: "02:00:00:00:00:01",
  mtu: 1450,
  hairpin: true,
  hostVeth: "pn0123456789ab",
  hostMac: "02:00:00:00:00:02",
  hostAlias: "podnet:net:c1:eth0",
  ifname: "eth0",
  containerMac: "0a:58:0a:f4:01:05",
  netnsPath: "/run/netns/pod1",
  addresses: [
    { ip: parseIP("10.244.1.5"), prefixLength: 24, gateway: parseIP("10.244.1.1") },
    { ip: parseIP("fd00::5"), prefixLength: 64, gateway: parseIP("fd00::1") },
  ],
  routes: [
    { dst: parsePrefix("0.0.0.0/0") },
    { dst: parsePrefix("::/0") },
    { dst: parsePrefix("192.0.2.0/24"), gw: parseIP("10.244.1.254") },
  ],
};

const text = (cmds: readonly (readonly string[])[]) => cmds.map((c) => c.join(" "));

describe("planAttach in bridge mode", () => {
  test("creates the bridge with a fixed MAC only when it does not exist", () => {
    expect(text(planAttach(base).bridgeSetup)).toEqual([
      "link add name podnet0 address 02:00:00:00:00:01 mtu 1450 type bridge",
      "addr replace 10.244.1.1/24 dev podnet0",
      "addr replace fd00::1/64 dev podnet0 nodad",
      "addr replace fe80::ff:fe00:1/64 dev podnet0 nodad",
      "link set dev podnet0 up",
    ]);
    expect(text(planAttach({ ...base, existingBridge: true }).bridgeSetup)[0]).toBe(
      "addr replace 10.244.1.1/24 dev podnet0",
    );
  });

  test("creates the veth with its peer already in the pod's namespace, MTU on both ends", () => {
    expect(planAttach(base).vethCreate.join(" ")).toBe(
      "link add name pn0123456789ab address 02:00:00:00:00:02 mtu 1450 type veth peer name eth0 address 0a:58:0a:f4:01:05 mtu 1450 netns /run/netns/pod1",
    );
  });

  test("makes the host side a hairpin bridge port", () => {
    expect(text(planAttach(base).hostSetup)).toEqual([
      "link set dev pn0123456789ab alias podnet:net:c1:eth0",
      "link set dev pn0123456789ab master podnet0",
      "link set dev pn0123456789ab type bridge_slave hairpin on",
      "link set dev pn0123456789ab up",
    ]);
    expect(text(planAttach({ ...base, hairpin: false }).hostSetup).some((c) => c.includes("hairpin"))).toBe(
      false,
    );
  });

  test("configures subnet addresses and routes via the family's gateway inside the pod", () => {
    expect(text(planAttach(base).container)).toEqual([
      "addr add 10.244.1.5/24 dev eth0",
      "addr add fd00::5/64 dev eth0 nodad",
      "link set dev eth0 up",
      "route add 0.0.0.0/0 via 10.244.1.1 dev eth0",
      "route add ::/0 via fd00::1 dev eth0",
      "route add 192.0.2.0/24 via 10.244.1.254 dev eth0",
    ]);
  });
});

describe("planAttach in ptp mode", () => {
  const ptp: AttachInput = { ...base, mode: "ptp" };

  test("uses host routes: /32 and /128 in the pod, gateway declared on-link first", () => {
    expect(text(planAttach(ptp).container)).toEqual([
      "addr add 10.244.1.5/32 dev eth0",
      "addr add fd00::5/128 dev eth0 nodad",
      "link set dev eth0 up",
      "route add 10.244.1.1 dev eth0 scope link",
      "route add fd00::1 dev eth0 scope link",
      "route add 0.0.0.0/0 via 10.244.1.1 dev eth0",
      "route add ::/0 via fd00::1 dev eth0",
      "route add 192.0.2.0/24 via 10.244.1.254 dev eth0",
    ]);
  });

  test("puts the gateway on the host veth and routes the pod's address to it; no bridge", () => {
    const plan = planAttach(ptp);
    expect(plan.bridgeSetup).toEqual([]);
    expect(text(plan.hostSetup)).toEqual([
      "link set dev pn0123456789ab alias podnet:net:c1:eth0",
      "addr add fe80::ff:fe00:2/64 dev pn0123456789ab nodad",
      "link set dev pn0123456789ab up",
      "addr add 10.244.1.1/32 dev pn0123456789ab",
      "route add 10.244.1.5/32 dev pn0123456789ab scope link src 10.244.1.1",
      "addr add fd00::1/128 dev pn0123456789ab nodad",
      "route add fd00::5/128 dev pn0123456789ab scope link src fd00::1",
    ]);
  });

  test("gives a routing link its link-local address without DAD, before it comes up, only with IPv6", () => {
    const ipv4Only: AttachInput = {
      ...ptp,
      addresses: base.addresses.slice(0, 1),
      routes: base.routes.slice(0, 1),
    };
    const isLinkLocal = (c: string) => c.includes("fe80::");
    expect(text(planAttach(ipv4Only).hostSetup).some(isLinkLocal)).toBe(false);
    expect(text(planAttach({ ...ipv4Only, mode: "bridge" }).bridgeSetup).some(isLinkLocal)).toBe(false);
    // An existing bridge is up already: its link-local address is the kernel's, long past DAD.
    expect(text(planAttach({ ...base, existingBridge: true }).bridgeSetup).some(isLinkLocal)).toBe(false);
    for (const [cmds, dev] of [
      [text(planAttach(ptp).hostSetup), "pn0123456789ab"],
      [text(planAttach(base).bridgeSetup), "podnet0"],
    ] as const) {
      const ll = cmds.findIndex(isLinkLocal);
      expect(ll).toBeGreaterThanOrEqual(0);
      expect(ll).toBeLessThan(cmds.indexOf(`link set dev ${dev} up`));
    }
  });

  test("reports host-route prefix lengths in ptp mode and the subnet's in bridge mode", () => {
    const a = { ip: parseIP("10.0.0.9"), prefixLength: 24 };
    expect(configuredPrefixLength("ptp", a)).toBe(32);
    expect(configuredPrefixLength("bridge", a)).toBe(24);
  });
});
