import { describe, expect, test } from "bun:test";
import { parseRouteEvent } from "./route-events.ts";

describe("parseRouteEvent", () => {
  test("a host-gw route: destination, protocol and the time in local time with µs", () => {
    const e = parseRouteEvent(
      "[2026-11-21T09:47:20.408150] 10.244.7.0/24 via 192.0.2.60 dev eth0 proto 200 ",
    );
    expect(e?.deleted).toBe(false);
    expect(e?.dst).toBe("10.244.7.0/24");
    expect(e?.proto).toBe("200");
    const base = new Date(2026, 10, 21, 9, 47, 20).getTime();
    expect(e?.atMs).toBeCloseTo(base + 408.15, 6);
  });

  test("a VXLAN route and a removal", () => {
    const add = parseRouteEvent(
      "[2026-11-21T09:47:20.409589] 10.244.1.0/24 via 10.244.1.0 dev podnet-vx proto 200 onlink ",
    );
    expect(add?.dst).toBe("10.244.1.0/24");
    const del = parseRouteEvent(
      "[2026-11-21T09:47:20.712219] Deleted 10.9.0.0/24 dev d0 proto 200 scope link",
    );
    expect(del?.deleted).toBe(true);
    expect(del?.dst).toBe("10.9.0.0/24");
  });

  test("route types printed before the destination are skipped; kernel routes have their proto", () => {
    const e = parseRouteEvent(
      "[2026-11-21T09:47:20.406791] multicast ff00::/8 dev d1 table local proto kernel metric 256 pref medium",
    );
    expect(e?.dst).toBe("ff00::/8");
    expect(e?.proto).toBe("kernel");
    expect(parseRouteEvent("[2026-11-21T09:47:20.1] Deleted local 10.0.0.1 dev eth0 table local")?.dst).toBe(
      "10.0.0.1",
    );
    expect(parseRouteEvent("[2026-11-21T09:47:20.1] default via 192.0.2.1 dev eth0")?.proto).toBeUndefined();
  });

  test("lines without a timestamp or destination are not events", () => {
    expect(parseRouteEvent("")).toBeUndefined();
    expect(parseRouteEvent("10.0.0.0/24 dev eth0")).toBeUndefined();
    expect(parseRouteEvent("[2026-11-21T09:47:20.1] ")).toBeUndefined();
  });
});
