import { describe, expect, test } from "bun:test";
import { spreadOf } from "./bgp-spread.ts";

describe("spreadOf", () => {
  test("times from the origin, nodes sorted, all = the latest of the router and the nodes", () => {
    const s = spreadOf(2, 1000, { where: "router", atMs: 1600 }, [
      { where: "n1", atMs: 1450.5 },
      { where: "n2", atMs: 1300 },
    ]);
    expect(s).toEqual({ round: 2, routerMs: 600, nodesMs: [300, 450.5], missing: [], allMs: 600 });
  });

  test("a kernel that never saw it is missing and leaves no overall figure", () => {
    const s = spreadOf(0, 1000, { where: "router", atMs: 1200 }, [
      { where: "n1", atMs: undefined },
      { where: "n2", atMs: 1900 },
    ]);
    expect(s.missing).toEqual(["n1"]);
    expect(s.nodesMs).toEqual([900]);
    expect(s.allMs).toBeNull();
    expect(spreadOf(0, 0, { where: "router", atMs: undefined }, []).allMs).toBeNull();
  });
});
