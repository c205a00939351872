import { describe, expect, test } from "bun:test";
import type { RouteFact } from "../cluster/diagnosis-protocol.ts";
import { LAB_NODE1_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { blockOwner, deviceAddresses, inPrefix, longestMatch, nodeByAddress } from "./trace-net.ts";

const route = (dst: string, extra: Partial<RouteFact> = {}): RouteFact => ({
  dst,
  onlink: false,
  type: "unicast",
  ...extra,
});

describe("longestMatch", () => {
  test("the longest prefix wins, then the first listed; default matches everything", () => {
    const routes = [
      route("default", { via: "192.0.2.1" }),
      route("10.244.0.0/16", { dev: "a" }),
      route("10.244.3.0/24", { dev: "b" }),
    ];
    expect(longestMatch(routes, "10.244.3.7")?.dev).toBe("b");
    expect(longestMatch(routes, "10.244.9.7")?.dev).toBe("a");
    expect(longestMatch(routes, "203.0.113.100")?.dst).toBe("default");
    expect(longestMatch([route("10.244.3.0/24")], "10.245.0.1")).toBeUndefined();
  });
  test("refusing routes count (the kernel would refuse), local ones do not", () => {
    expect(longestMatch([route("10.244.3.0/24", { type: "blackhole" })], "10.244.3.2")?.type).toBe(
      "blackhole",
    );
    expect(longestMatch([route("10.244.3.2/32", { type: "local" })], "10.244.3.2")).toBeUndefined();
  });
});

describe("address questions on the lab", () => {
  test("prefixes, owners and devices", () => {
    expect(inPrefix("10.244.3.2", "10.244.3.1/24")).toBe(true);
    expect(inPrefix("10.244.3.2", "10.244.3.2")).toBe(true);
    expect(inPrefix("2001:db8::1", "10.0.0.0/8")).toBe(false);
    expect(blockOwner(LAB_SNAPSHOT, "10.244.8.9")).toEqual({ node: "node3", block: "10.244.8.0/24" });
    expect(nodeByAddress(LAB_SNAPSHOT, "10.244.3.1")?.name).toBe("node2");
    expect(deviceAddresses(LAB_NODE1_FACTS, "podnet-vx")).toEqual(["10.244.0.0"]);
  });
});
