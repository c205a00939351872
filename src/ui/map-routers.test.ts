import { describe, expect, test } from "bun:test";
import { buildMapRouters, joinHosts } from "./map-routers.ts";
import type { MapSegment } from "./map-types.ts";

const SEGMENTS: MapSegment[] = [
  { cidr: "192.0.2.0/24", routers: ["192.0.2.1"], nodes: ["node1", "node2"] },
  { cidr: "198.51.100.0/24", routers: ["198.51.100.1", "198.51.100.254"], nodes: ["node3"] },
];

describe("buildMapRouters", () => {
  test("without named routers every gateway address is a router of its own, named by it", () => {
    expect(buildMapRouters(SEGMENTS, [])).toEqual([
      { name: "192.0.2.1", addresses: ["192.0.2.1"], segments: ["192.0.2.0/24"] },
      { name: "198.51.100.1", addresses: ["198.51.100.1"], segments: ["198.51.100.0/24"] },
      { name: "198.51.100.254", addresses: ["198.51.100.254"], segments: ["198.51.100.0/24"] },
    ]);
  });

  test("a named router holding gateways of two segments is one router serving both", () => {
    const routers = buildMapRouters(SEGMENTS, [
      { name: "core", addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"], note: "joins them" },
    ]);
    expect(routers).toEqual([
      {
        name: "core",
        addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"],
        segments: ["192.0.2.0/24", "198.51.100.0/24"],
        note: "joins them",
      },
      // The address no named router holds stays a router of its own.
      { name: "198.51.100.254", addresses: ["198.51.100.254"], segments: ["198.51.100.0/24"] },
    ]);
  });

  test("a named router on no segment is still a router of the map", () => {
    expect(buildMapRouters([], [{ name: "edge", addresses: ["203.0.113.1"] }])).toEqual([
      { name: "edge", addresses: ["203.0.113.1"], segments: [] },
    ]);
  });
});

describe("joinHosts", () => {
  const routers = buildMapRouters(SEGMENTS, [{ name: "edge", addresses: ["203.0.113.1"] }]);

  test("a host with a subnet is joined to the routers holding an address in it", () => {
    const [host] = joinHosts(
      [{ name: "external", ip: "203.0.113.100", note: "outside", cidr: "203.0.113.0/24" }],
      routers,
    );
    expect(host?.routers).toEqual(["edge"]);
  });

  test("a host without a subnet, or with none of the routers on it, carries no routers", () => {
    const hosts = joinHosts(
      [
        { name: "a", ip: "203.0.113.100", note: "" },
        { name: "b", ip: "100.64.0.5", note: "", cidr: "100.64.0.0/24" },
        { name: "c", ip: "100.64.0.6", note: "", cidr: "not a prefix", routers: ["forged"] },
      ],
      routers,
    );
    expect(hosts.map((h) => h.routers)).toEqual([undefined, undefined, undefined]);
  });
});
