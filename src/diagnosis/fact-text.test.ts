import { describe, expect, test } from "bun:test";
import { agoText } from "./explain-context.ts";
import { addressOf, fdbText, neighbourText, routeDst, routeText, tupleText } from "./fact-text.ts";

describe("fact text", () => {
  test("routes as ip prints them", () => {
    expect(
      routeText({
        dst: "10.244.8.0/24",
        via: "10.244.8.0",
        dev: "podnet-vx",
        proto: "200",
        onlink: true,
        type: "unicast",
      }),
    ).toBe("10.244.8.0/24 via 10.244.8.0 dev podnet-vx proto 200 onlink");
    expect(routeText({ dst: "10.9.0.0/16", onlink: false, type: "blackhole" })).toBe("blackhole 10.9.0.0/16");
  });
  test("neighbours, fdb entries and conntrack tuples", () => {
    expect(
      neighbourText({
        dev: "podnet-vx",
        address: "10.244.8.0",
        mac: "62:f1:93:8f:e2:6a",
        state: ["PERMANENT"],
      }),
    ).toBe("10.244.8.0 dev podnet-vx lladdr 62:f1:93:8f:e2:6a PERMANENT");
    expect(
      fdbText({
        dev: "podnet-vx",
        mac: "62:f1:93:8f:e2:6a",
        dst: "198.51.100.13",
        flags: ["self", "permanent"],
      }),
    ).toBe("62:f1:93:8f:e2:6a dev podnet-vx dst 198.51.100.13 self permanent");
    expect(tupleText({ src: "10.244.0.2", dst: "10.102.49.235", sport: 41796, dport: 80 })).toBe(
      "10.244.0.2:41796 → 10.102.49.235:80",
    );
    expect(tupleText({ src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 2 })).toBe(
      "[2001:db8::1]:1 → [2001:db8::2]:2",
    );
    expect(tupleText({ src: "10.0.0.1", dst: "10.0.0.2" })).toBe("10.0.0.1 → 10.0.0.2");
  });
  test("destinations and addresses canonical", () => {
    expect(routeDst("10.244.3.0/24")).toBe("10.244.3.0/24");
    expect(routeDst("10.244.3.9")).toBe("10.244.3.9/32");
    expect(routeDst("2001:DB8::1")).toBe("2001:db8::1/128");
    expect(routeDst("default")).toBe("default");
    expect(addressOf("192.0.2.12/24")).toBe("192.0.2.12");
  });
  test("ages", () => {
    expect(agoText(41)).toBe("41s ago");
    expect(agoText(180)).toBe("3m ago");
    expect(agoText(3 * 3600)).toBe("3h ago");
    expect(agoText(-5)).toBe("in the future");
  });
});
