import { describe, expect, test } from "bun:test";
import { readSysctl, sysctlPath } from "./node-sysctls.ts";

describe("sysctlPath", () => {
  test("an interface name with dots (a VLAN uplink) stays one path segment", () => {
    expect(sysctlPath("net.ipv4.conf.eth0.100.rp_filter")).toBe("/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
    expect(sysctlPath("net.ipv4.conf.bond0.42.rp_filter")).toBe("/proc/sys/net/ipv4/conf/bond0.42/rp_filter");
    expect(sysctlPath("net.ipv4.conf.eth0.rp_filter")).toBe("/proc/sys/net/ipv4/conf/eth0/rp_filter");
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net.bridge.bridge-nf-call-iptables")).toBe(
      "/proc/sys/net/bridge/bridge-nf-call-iptables",
    );
  });

  test("refuses keys that could leave /proc/sys or name no interface", () => {
    expect(() => sysctlPath("net..ipv4")).toThrow(/Invalid sysctl key/);
    expect(() => sysctlPath("../etc/passwd")).toThrow(/Invalid sysctl key/);
    expect(() => sysctlPath("net.ipv4.conf.a-name-far-too-long-for-a-link.x.rp_filter")).toThrow(
      /Invalid sysctl key/,
    );
  });

  test("reads the loopback's rp_filter through the per-device path", () => {
    expect(readSysctl("net.ipv4.conf.lo.rp_filter")).toMatch(/^[012]$/);
  });
});
