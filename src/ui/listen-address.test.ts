import { describe, expect, test } from "bun:test";
import { isLoopback, ListenAddressError, parseListenAddress } from "./listen-address.ts";

describe("parseListenAddress", () => {
  test("IPv4 and bracketed IPv6; port 0 picks a free port", () => {
    expect(parseListenAddress("127.0.0.1:7474")).toEqual({ hostname: "127.0.0.1", port: 7474 });
    expect(parseListenAddress("[::1]:80")).toEqual({ hostname: "::1", port: 80 });
    expect(parseListenAddress("127.0.0.1:0")).toEqual({ hostname: "127.0.0.1", port: 0 });
  });

  test.each(["", "127.0.0.1", ":7474", "localhost:7474", "127.0.0.1:65536", "300.0.0.1:1", "::1:80"])(
    "refuses %p",
    (text) => {
      expect(() => parseListenAddress(text)).toThrow(ListenAddressError);
    },
  );
});

test("isLoopback: 127.0.0.0/8 and ::1 (bracketed too), nothing else", () => {
  for (const host of ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
    expect(isLoopback(host)).toBe(true);
  for (const host of ["0.0.0.0", "192.0.2.1", "::", "example.org"]) expect(isLoopback(host)).toBe(false);
});
