import { describe, expect, test } from "bun:test";
import type { NodeBgpFact, NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { type Drift, type DriftKind, findDrift } from "./drift.ts";
import { explainAddress, parseExplainQuery } from "./explain.ts";
import { BGP_FACTS, BGP_SNAPSHOT, birdRoute, sessionDown, withBgp } from "./fixtures/lab-bgp.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { renderExplanation } from "./render-explain.ts";

function kinds(drift: readonly Drift[]): [string, DriftKind, string][] {
  return drift.map((d) => [d.node, d.kind, d.subject]);
}

function explain(text: string, facts: readonly NodeFacts[] = BGP_FACTS) {
  return explainAddress(BGP_SNAPSHOT, facts, parseExplainQuery(text), LAB_NOW, []);
}

describe("explain under the bgp backend", () => {
  test("a pod on another segment: every node's BIRD route, via the peer on lan1 and via the router across", () => {
    const e = explain("10.244.8.2");
    expect(e.routes.map((r) => [r.node, r.how, r.via, r.ok])).toEqual([
      ["node1", "bgp", "192.0.2.1", true],
      ["node2", "bgp", "192.0.2.1", true],
      ["node3", "local", undefined, true],
    ]);
    expect(e.drift.relevant).toEqual([]);
    const text = renderExplanation(e);
    expect(text).toContain("✓ node1: 10.244.8.0/24 via 192.0.2.1 (BGP route, proto bird)");
    expect(text).not.toContain("podnet-vx");
    expect(explain("10.244.3.2").routes.find((r) => r.node === "node1")?.via).toBe("192.0.2.12");
  });

  test("a block's network address is no VTEP under bgp (no VXLAN device): a free address", () => {
    const e = explain("10.244.8.0");
    expect(e.kinds).toEqual(["free"]);
    expect(e.vtep).toBeUndefined();
  });

  test("a node IP shows the node's BGP part: router id, sessions, announced against held", () => {
    const e = explain("192.0.2.11");
    expect(e.bgp).toMatchObject({
      node: "node1",
      running: true,
      routerId: "192.0.2.11",
      announced: ["10.244.0.0/24"],
      held: ["10.244.0.0/24"],
    });
    expect(e.bgp?.sessions[0]).toMatchObject({
      peer: "router-lan1",
      state: "Established",
      established: true,
      received: 2,
    });
    const text = renderExplanation(e);
    expect(text).toContain("bgp       node1: BIRD running, router id 192.0.2.11");
    expect(text).toContain(
      "✓ router-lan1 192.0.2.1 AS 64512→64512 Established since 21s ago, routes received 2 advertised 1",
    );
    expect(text).toContain("✓ announces 10.244.0.0/24; holds 10.244.0.0/24");
  });

  test("an auto node without BGP peers shows no BGP part; a bgp node without peers says so", () => {
    const off = (b: NodeBgpFact): NodeBgpFact => ({
      ...b,
      enabled: false,
      running: false,
      sessions: [],
      announced: [],
    });
    const auto = LAB_FACTS.map((f) =>
      f.node === "node1" ? { ...f, bgp: off(BGP_FACTS[0]?.bgp as NodeBgpFact) } : f,
    );
    expect(
      explainAddress(LAB_SNAPSHOT, auto, parseExplainQuery("192.0.2.11"), LAB_NOW, []).bgp,
    ).toBeUndefined();
    const e = explain("192.0.2.11", withBgp("node1", off));
    expect(renderExplanation(e)).toContain("bgp       node1: no BGP peer selects it (bgp backend)");
    expect(kinds(e.drift.relevant)).toContainEqual(["node1", "bgp-not-running", "node1"]);
  });

  test("a node whose session is down: its explain shows the session and the drift", () => {
    const e = explain("192.0.2.12", withBgp("node2", sessionDown));
    expect(e.bgp?.sessions[0]?.established).toBe(false);
    expect(kinds(e.drift.relevant)).toContainEqual(["node2", "bgp-session-down", "node2"]);
    expect(renderExplanation(e)).toContain("✗ router-lan1 192.0.2.1 AS 64512→64512 Active");
  });

  test("auto with BGP: BIRD's route is active, podnet's is the backup, and neither is drift", () => {
    const snapshot = LAB_SNAPSHOT;
    const facts = LAB_FACTS.map((f) =>
      f.node === "node1"
        ? {
            ...f,
            routes: [birdRoute("10.244.8.0/24", "192.0.2.1"), ...f.routes],
            bgp: { ...(BGP_FACTS[0]?.bgp as NodeBgpFact) },
          }
        : f,
    );
    expect(findDrift(snapshot, facts)).toEqual([]);
    const e = explainAddress(snapshot, facts, parseExplainQuery("10.244.8.2"), LAB_NOW, []);
    const r = e.routes.find((x) => x.node === "node1");
    expect(r).toMatchObject({
      how: "vxlan",
      ok: true,
      bgpRoute: "10.244.8.0/24 via 192.0.2.1 dev eth0 proto bird",
    });
    expect(renderExplanation(e)).toContain(
      "backup (metric 1024); active: BIRD's 10.244.8.0/24 via 192.0.2.1",
    );
  });

  test("auto with BGP: BIRD's active route going the wrong way is drift, though podnet's backup is right", () => {
    const facts = LAB_FACTS.map((f) =>
      f.node === "node1"
        ? {
            ...f,
            routes: [birdRoute("10.244.3.0/24", "192.0.2.99"), ...f.routes],
            bgp: { ...(BGP_FACTS[0]?.bgp as NodeBgpFact) },
          }
        : f,
    );
    const drift = findDrift(LAB_SNAPSHOT, facts);
    expect(kinds(drift)).toEqual([["node1", "wrong-route", "10.244.3.0/24"]]);
    expect(drift[0]?.problem).toBe(
      "routes node2's block 10.244.3.0/24 through BIRD wrongly: it should go via 192.0.2.12",
    );
    const e = explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery("10.244.3.2"), LAB_NOW, []);
    expect(e.routes.find((x) => x.node === "node1")).toMatchObject({ how: "direct", ok: false });
  });

  test("a BIRD route on a node without BGP peers is a leftover, whatever podnet's own route says", () => {
    const facts = LAB_FACTS.map((f) =>
      f.node === "node1" ? { ...f, routes: [birdRoute("10.244.8.0/24", "192.0.2.1"), ...f.routes] } : f,
    );
    const drift = findDrift(LAB_SNAPSHOT, facts);
    expect(kinds(drift)).toEqual([["node1", "wrong-route", "10.244.8.0/24"]]);
    expect(drift[0]?.problem).toContain("without BGP peers: a leftover of a BIRD");
    expect(drift[0]?.command).toBe("ip route show 10.244.8.0/24 proto bird");
  });

  test("auto with BGP and a peer on the bgp backend (no VXLAN device): BIRD's route is the one expected", () => {
    const snapshot = {
      ...LAB_SNAPSHOT,
      nodes: LAB_SNAPSHOT.nodes.map((n) =>
        n.name === "node3" ? { ...n, backend: "bgp" as const, vtepMac: "" } : n,
      ),
    };
    const node1 = (routes: NodeFacts["routes"]): NodeFacts[] =>
      LAB_FACTS.map((f) =>
        f.node === "node1"
          ? {
              ...f,
              routes: routes.filter((r) => r.dst !== "10.244.8.0/24" || r.proto === "bird"),
              bgp: BGP_FACTS[0]?.bgp,
            }
          : f,
      );
    const base = LAB_FACTS[0]?.routes ?? [];
    const ok = explainAddress(
      snapshot,
      node1([...base, birdRoute("10.244.8.0/24", "192.0.2.1")]),
      parseExplainQuery("10.244.8.2"),
      LAB_NOW,
      [],
    );
    expect(ok.routes.find((r) => r.node === "node1")).toMatchObject({
      how: "bgp",
      via: "192.0.2.1",
      ok: true,
    });
    const missing = findDrift(snapshot, node1(base)).filter(
      (d) => d.subject === "10.244.8.0/24" && d.node === "node1",
    );
    expect(missing.map((d) => d.kind)).toEqual(["missing-route"]);
  });
});
