import { describe, expect, test } from "bun:test";
import { parseIP } from "../ipnet/address.ts";
import { bgpRouterId } from "./bgp-router-id.ts";

describe("bgpRouterId", () => {
  test("is the IPv4 node IP when the node has one, whatever the order", () => {
    expect(bgpRouterId("node1", [parseIP("2001:db8:1::11"), parseIP("192.0.2.11")])).toBe("192.0.2.11");
  });

  test("is a stable hash of the name on an IPv6-only node", () => {
    const id = bgpRouterId("node1", [parseIP("2001:db8:1::11")]);
    expect(id).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(id).not.toBe("0.0.0.0");
    expect(bgpRouterId("node1", [])).toBe(id);
    // FNV-1a("node1") = 0x0f4e2874 (checked with an independent implementation); pinned so a refactor cannot silently renumber every node.
    expect(id).toBe("15.78.40.116");
  });

  test("differs between node names", () => {
    const ids = new Set(["node1", "node2", "node3", "a", "b"].map((n) => bgpRouterId(n, [])));
    expect(ids.size).toBe(5);
  });
});
