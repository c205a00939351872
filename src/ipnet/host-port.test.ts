import { describe, expect, test } from "bun:test";
import { hostPort } from "./host-port.ts";

describe("hostPort", () => {
  test("brackets an IPv6 address and not an IPv4 address or a name", () => {
    expect(hostPort("2001:db8::1", 80)).toBe("[2001:db8::1]:80");
    expect(hostPort("10.0.0.1", 80)).toBe("10.0.0.1:80");
    expect(hostPort("etcd.example", "2379")).toBe("etcd.example:2379");
  });

  test("gives the bare host without a port", () => {
    expect(hostPort("fd00::10", undefined)).toBe("fd00::10");
    expect(hostPort("10.0.0.1", undefined)).toBe("10.0.0.1");
  });
});
