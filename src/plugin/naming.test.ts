import { describe, expect, test } from "bun:test";
import { formatIP, parseIP } from "../ipnet/address.ts";
import { bridgeMac, containerMac, hostVethMac, hostVethName, linkLocalFromMac } from "./naming.ts";

const id = { network: "net", containerId: "abc123", ifname: "eth0" };
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

describe("attachment naming", () => {
  test("host veth names are deterministic, distinct per key and fit IFNAMSIZ", () => {
    expect(hostVethName(id)).toBe(hostVethName({ ...id }));
    const names = new Set<string>();
    for (let i = 0; i < 2000; i++) names.add(hostVethName({ ...id, containerId: `c${i}` }));
    expect(names.size).toBe(2000);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(15);
    expect(hostVethName({ ...id, ifname: "eth1" })).not.toBe(hostVethName(id));
    expect(hostVethName({ ...id, network: "other" })).not.toBe(hostVethName(id));
  });

  test("the pod MAC embeds its IPv4 address after 0a:58", () => {
    expect(containerMac(id, parseIP("10.244.1.2"))).toBe("0a:58:0a:f4:01:02");
    expect(containerMac(id, undefined)).toMatch(/^0a:58(:[0-9a-f]{2}){4}$/);
  });

  test("host and bridge MACs are locally administered unicast", () => {
    for (const mac of [hostVethMac(id), bridgeMac("podnet0", "10.244.1.1")]) {
      expect(mac).toMatch(MAC);
      const first = Number.parseInt(mac.slice(0, 2), 16);
      expect(first & 0x02).toBe(0x02);
      expect(first & 0x01).toBe(0);
    }
    expect(bridgeMac("podnet0", "10.244.1.1")).not.toBe(bridgeMac("podnet0", "10.244.2.1"));
  });

  test("the link-local address of a MAC is its modified EUI-64 one, as the kernel makes it", () => {
    expect(formatIP(linkLocalFromMac("52:54:00:12:34:56"))).toBe("fe80::5054:ff:fe12:3456");
    expect(formatIP(linkLocalFromMac("0A:58:0A:F4:01:02"))).toBe("fe80::858:aff:fef4:102");
    expect(formatIP(linkLocalFromMac("02:00:00:00:00:01"))).toBe("fe80::ff:fe00:1");
    expect(() => linkLocalFromMac("02:00:00:00:01")).toThrow('Invalid MAC address "02:00:00:00:01"');
  });
});
