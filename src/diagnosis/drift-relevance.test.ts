import { describe, expect, test } from "bun:test";
import type { Drift, DriftKind } from "./drift-kinds.ts";
import { driftConcerns, parseDriftSubject, relevantDrift } from "./drift-relevance.ts";

function drift(kind: DriftKind, subject: string, node = "node1"): Drift {
  return { node, kind, subject, problem: "p", evidence: "e", command: "c" };
}

describe("parseDriftSubject", () => {
  test("addresses, address:port[/proto], prefixes, other text", () => {
    expect(parseDriftSubject("10.244.0.2")).toEqual({ kind: "address", ip: "10.244.0.2" });
    expect(parseDriftSubject("10.244.0.2:8080")).toEqual({ kind: "address", ip: "10.244.0.2", port: 8080 });
    expect(parseDriftSubject("10.96.0.10:80/tcp")).toEqual({ kind: "address", ip: "10.96.0.10", port: 80 });
    expect(parseDriftSubject("2001:db8::1:5")).toEqual({ kind: "address", ip: "2001:db8::1:5" });
    expect(parseDriftSubject("[2001:db8::1]:80")).toEqual({ kind: "address", ip: "2001:db8::1", port: 80 });
    expect(parseDriftSubject("10.244.3.0/24")).toEqual({ kind: "prefix", prefix: "10.244.3.0/24" });
    expect(parseDriftSubject("8A:10:1B:B1:03:59")).toEqual({ kind: "text", text: "8a:10:1b:b1:03:59" });
  });
});

describe("driftConcerns", () => {
  test("exact addresses: 10.244.0.2 is not 10.244.0.20 nor 10.244.0.21:8080", () => {
    const scope = { addresses: ["10.244.0.2"] };
    expect(driftConcerns(drift("stale-neighbour", "10.244.0.2"), scope)).toBe(true);
    expect(driftConcerns(drift("missing-endpoint", "10.244.0.2:8080"), scope)).toBe(true);
    expect(driftConcerns(drift("stale-neighbour", "10.244.0.20"), scope)).toBe(false);
    expect(driftConcerns(drift("stale-endpoint", "10.244.0.21:8080"), scope)).toBe(false);
  });

  test("IPv6: 2001:db8::1 does not concern 2001:db8::1:5", () => {
    expect(driftConcerns(drift("stale-neighbour", "2001:db8::1:5"), { addresses: ["2001:db8::1"] })).toBe(
      false,
    );
    expect(driftConcerns(drift("stale-neighbour", "2001:DB8::1"), { addresses: ["2001:db8::1"] })).toBe(true);
  });

  test("a prefix holding the address, scope subjects compared exactly, node-wide drift", () => {
    expect(driftConcerns(drift("missing-route", "10.244.3.0/24"), { addresses: ["10.244.3.2"] })).toBe(true);
    expect(driftConcerns(drift("missing-route", "10.244.4.0/24"), { addresses: ["10.244.3.2"] })).toBe(false);
    expect(
      driftConcerns(drift("stale-fdb", "8a:10:1b:b1:03:59"), {
        addresses: [],
        subjects: ["8A:10:1B:B1:03:59"],
      }),
    ).toBe(true);
    expect(driftConcerns(drift("ip-forward-off", "node2", "node2"), { addresses: ["10.244.3.2"] })).toBe(
      true,
    );
  });

  test("nodes out of scope are left out, node-wide drift included", () => {
    const all = [drift("ip-forward-off", "node2", "node2"), drift("ip-forward-off", "node3", "node3")];
    expect(relevantDrift(all, { addresses: [], nodes: new Set(["node2"]) }).map((d) => d.node)).toEqual([
      "node2",
    ]);
  });
});
