import { describe, expect, test } from "bun:test";
import { LAB_FACTS } from "../../diagnosis/fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "../../diagnosis/fixtures/lab-snapshot.ts";
import { buildClusterMap } from "../cluster-map.ts";
import { isClusterMap } from "./is-cluster-map.ts";

describe("isClusterMap", () => {
  const map = JSON.parse(JSON.stringify(buildClusterMap(LAB_SNAPSHOT, LAB_FACTS, [], [], 3, LAB_NOW)));
  test("accepts what the server builds, after JSON", () => expect(isClusterMap(map)).toBe(true));
  test("refuses another schema, a missing array, a node without blocks", () => {
    expect(isClusterMap({ ...map, schema: "podnet.map/v0" })).toBe(false);
    expect(isClusterMap({ ...map, links: undefined })).toBe(false);
    expect(isClusterMap({ ...map, nodes: [{ name: "n", nodeIPs: [] }] })).toBe(false);
    expect(isClusterMap(null)).toBe(false);
  });
  test("takes a stale map, refuses a malformed stale", () => {
    expect(isClusterMap({ ...map, stale: { since: "2026-12-06T13:50:01Z", reason: "etcd down" } })).toBe(
      true,
    );
    expect(isClusterMap({ ...map, stale: "since noon" })).toBe(false);
    expect(isClusterMap({ ...map, stale: { since: 5, reason: "etcd down" } })).toBe(false);
    expect(isClusterMap({ ...map, stale: null })).toBe(false);
  });
});
