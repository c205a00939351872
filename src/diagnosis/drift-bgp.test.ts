import { describe, expect, test } from "bun:test";
import { type Drift, type DriftKind, findDrift } from "./drift.ts";
import { BGP_FACTS, BGP_SNAPSHOT, birdRoute, sessionDown, withBgp, withFacts } from "./fixtures/lab-bgp.ts";

function kinds(drift: readonly Drift[]): [string, DriftKind, string][] {
  return drift.map((d) => [d.node, d.kind, d.subject]);
}

describe("drift under the bgp backend", () => {
  test("the intact bgp lab has none: BIRD's routes, no VXLAN facts expected", () => {
    expect(findDrift(BGP_SNAPSHOT, BGP_FACTS)).toEqual([]);
  });

  test("a missing BIRD route with the sessions up: BIRD has not learned the block, with the birdc commands", () => {
    const facts = withFacts("node1", (f) => ({
      ...f,
      routes: f.routes.filter((r) => r.dst !== "10.244.8.0/24"),
    }));
    const drift = findDrift(BGP_SNAPSHOT, facts);
    expect(kinds(drift)).toEqual([["node1", "missing-route", "10.244.8.0/24"]]);
    expect(drift[0]?.problem).toContain("BIRD has not learned node3's block");
    expect(drift[0]?.command).toBe(
      "birdc -s /run/podnet-lab/dhnj8r/node1/state/bgp/bird.ctl show route 10.244.8.0/24 all; birdc -s /run/podnet-lab/dhnj8r/node1/state/bgp/bird.ctl show protocols all",
    );
  });

  test("a session down: the session is drift, and the missing routes name it as their cause", () => {
    const facts = withBgp("node2", sessionDown).map((f) =>
      f.node === "node2" ? { ...f, routes: f.routes.filter((r) => r.proto !== "bird") } : f,
    );
    const drift = findDrift(BGP_SNAPSHOT, facts);
    expect(kinds(drift)).toEqual([
      ["node2", "bgp-session-down", "node2"],
      ["node2", "missing-route", "10.244.0.0/24"],
      ["node2", "missing-route", "10.244.8.0/24"],
    ]);
    expect(drift[0]?.evidence).toBe(
      "peer router-lan1 (192.0.2.1, AS 64512) Active since 2026-12-06T10:15:50.000Z, last error: Socket: Connection refused",
    );
    expect(drift[0]?.command).toContain("show protocols all peer_router_lan1");
    expect(drift[1]?.problem).toContain("no BGP session is up on node2: peer router-lan1");
  });

  test("a peer's route missing because the owner's session is down names the owner", () => {
    const facts = withBgp("node3", sessionDown).map((f) =>
      f.node === "node1" ? { ...f, routes: f.routes.filter((r) => r.dst !== "10.244.8.0/24") } : f,
    );
    const d = findDrift(BGP_SNAPSHOT, facts).find((x) => x.node === "node1");
    expect(d?.problem).toContain("node3 cannot announce it: no BGP session is up on node3");
  });

  test("a held block not announced, and an announced block not held", () => {
    const facts = withBgp("node1", (b) => ({ ...b, announced: ["10.244.5.0/24"] }));
    expect(kinds(findDrift(BGP_SNAPSHOT, facts))).toEqual([
      ["node1", "bgp-unannounced-block", "10.244.0.0/24"],
      ["node1", "bgp-stray-announcement", "10.244.5.0/24"],
    ]);
  });

  test("BIRD not running while peers select the node", () => {
    const facts = withBgp("node3", (b) => ({
      ...b,
      running: false,
      sessions: [],
      lastError: "bird exited with code 1",
    }));
    const drift = findDrift(BGP_SNAPSHOT, facts).filter((d) => d.node === "node3");
    expect(kinds(drift)).toEqual([["node3", "bgp-not-running", "node3"]]);
    expect(drift[0]?.evidence).toBe("bird exited with code 1");
  });

  test("a BIRD route for the node's own block or for a block nobody holds is wrong-route", () => {
    const facts = withFacts("node1", (f) => ({
      ...f,
      routes: [
        ...f.routes,
        birdRoute("10.244.0.0/24", "192.0.2.12"),
        birdRoute("10.244.77.0/24", "192.0.2.1"),
      ],
    }));
    const drift = findDrift(BGP_SNAPSHOT, facts);
    expect(kinds(drift)).toEqual([
      ["node1", "wrong-route", "10.244.0.0/24"],
      ["node1", "wrong-route", "10.244.77.0/24"],
    ]);
    expect(drift[0]?.problem).toContain("its own block");
    expect(drift[1]?.problem).toContain("a pod block no node holds");
  });

  test("a podnet route (proto 200) no peer needs is still drift under bgp", () => {
    const facts = withFacts("node1", (f) => ({
      ...f,
      routes: [
        ...f.routes,
        {
          dst: "10.244.3.0/24",
          dev: "eth0",
          via: "192.0.2.12",
          proto: "200",
          onlink: false,
          type: "unicast",
        },
      ],
    }));
    expect(kinds(findDrift(BGP_SNAPSHOT, facts))).toEqual([["node1", "wrong-route", "10.244.3.0/24"]]);
  });
});
