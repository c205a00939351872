import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type GracefulRestartObservation,
  NOT_RESTARTED,
  type NodeDeathObservation,
  neighborRestartTime,
  type PeeringChangeObservation,
  peeringChangeApplied,
  protocolSections,
  reachableAcrossRestart,
  type SessionChange,
  sessionNeighbor,
  withdrawnByHoldTimer,
} from "./bgp-restart-claims.ts";

/** The lab router's `show protocols all`, captured: graceful restart on, node3's BIRD stopped by it. */
const GR_ACTIVE = readFileSync(join(import.meta.dir, "fixtures/bgp-restart/router-gr-active.txt"), "utf8");
/** The same router after graceful restart was turned off again. */
const GR_OFF = readFileSync(join(import.meta.dir, "fixtures/bgp-restart/router-gr-off.txt"), "utf8");

describe("the router's show protocols all", () => {
  const active = protocolSections(GR_ACTIVE);

  test("is cut into one section per BGP protocol", () => {
    expect([...active.keys()].filter((k) => k.startsWith("lan")).sort()).toEqual([
      "lan1_v4",
      "lan1_v4_1",
      "lan1_v4_2",
      // A dynamic session left from an earlier node IP change, still trying the old address.
      "lan1_v4_3",
      "lan1_v6",
      "lan2_v4",
      "lan2_v4_1",
      "lan2_v6",
    ]);
    expect(active.get("lan2_v4_1")).toContain("Neighbor graceful restart active");
    expect(active.get("lan1_v4_1")).not.toContain("Neighbor graceful restart active");
  });

  test("reads the restart time the neighbor advertised, none without graceful restart", () => {
    expect(neighborRestartTime(active.get("lan1_v4_1") ?? "")).toBe(120);
    expect(neighborRestartTime(active.get("lan2_v4_1") ?? "")).toBeUndefined();
    const off = protocolSections(GR_OFF);
    const established = [...off.values()].filter((s) => /BGP state:\s+Established/.test(s));
    expect(established.length).toBe(3);
    expect(established.map(neighborRestartTime)).toEqual([undefined, undefined, undefined]);
  });

  test("finds a node's session by its address", () => {
    const section = active.get("lan2_v4_1") ?? "";
    expect(sessionNeighbor(section, ["198.51.100.13/24", "2001:db8:2::13/64"])).toBe(true);
    expect(sessionNeighbor(section, ["192.0.2.12/24"])).toBe(false);
  });
});

const session = (node: string, more: Partial<SessionChange> = {}): SessionChange => ({
  node,
  sinceBefore: "19:20:04.107",
  sinceAfter: "19:24:36.531",
  holdAfter: 6,
  birdBefore: [100],
  birdAfter: [100],
  agentRunning: true,
  ...more,
});

const change = (more: Partial<PeeringChangeObservation> = {}): PeeringChangeObservation => ({
  holdBefore: 9,
  holdSet: 6,
  sessions: [session("node1"), session("node3")],
  appliedMs: 1242,
  configBefore: '{"holdTimeSeconds":9}',
  configRestored: '{"holdTimeSeconds":9}',
  restoredMs: 1634,
  ...more,
});

describe("peeringChangeApplied", () => {
  test("holds when every session re-opened with the new hold time on the same BIRD, and all was restored", () => {
    const v = peeringChangeApplied(change());
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("hold time 9 → 6 s negotiated with the router in 1242 ms");
  });

  test("fails on a session with the old hold time, or one that never re-opened", () => {
    expect(
      peeringChangeApplied(change({ sessions: [session("node1", { holdAfter: 9 })] })).evidence,
    ).toContain("node1's session runs with hold time 9, not 6");
    const same = session("node1", { sinceAfter: "19:20:04.107" });
    expect(peeringChangeApplied(change({ sessions: [same] })).evidence).toContain("did not re-open");
  });

  test("fails when a BIRD was restarted or an agent is down", () => {
    const v = peeringChangeApplied(
      change({ sessions: [session("node3", { birdAfter: [200], agentRunning: false })] }),
    );
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain("node3's BIRD changed: pid 100 → 200");
    expect(v.evidence).toContain("node3's agent is not running");
  });

  test("fails when the config was not put back exactly, or the sessions kept the new hold time", () => {
    expect(peeringChangeApplied(change({ configRestored: '{"holdTimeSeconds":6}' })).ok).toBe(false);
    expect(peeringChangeApplied(change({ restoredMs: undefined })).evidence).toContain(
      "did not return to hold time 9",
    );
  });
});

const restart = (more: Partial<GracefulRestartObservation> = {}): GracefulRestartObservation => ({
  node: "node3",
  blocks: ["10.244.3.0/24"],
  from: "node1-a",
  to: "node3-a",
  restartSeconds: 120,
  negotiated: true,
  agentStopped: true,
  birdStopped: true,
  staleSeen: true,
  blockKept: true,
  downMs: 2100,
  relearnedMs: 3208,
  probes: 13,
  probeSpanMs: 8000,
  failures: [],
  configBefore: "{}",
  configRestored: "{}",
  restored: true,
  ...more,
});

describe("reachableAcrossRestart", () => {
  test("holds with no failed probe, the block kept stale and re-learnt", () => {
    const v = reachableAcrossRestart(restart());
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("13 probes node1-a → node3-a over 8000 ms, none failed");
  });

  test("one failed probe is a failure", () => {
    const v = reachableAcrossRestart(restart({ failures: ["at 2300 ms: timed out"] }));
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain("1 of 13 probes node1-a → node3-a failed: at 2300 ms: timed out");
  });

  test("fails when the router dropped the block or never kept it stale", () => {
    const v = reachableAcrossRestart(restart({ blockKept: false, staleSeen: false, relearnedMs: undefined }));
    expect(v.evidence).toContain("left the router's table during the restart");
    expect(v.evidence).toContain("never showed graceful restart active for node3");
    expect(v.evidence).toContain("did not re-learn");
  });

  test("fails when nothing happened: graceful restart never negotiated, no restart, no probe", () => {
    const v = reachableAcrossRestart(restart({ ...NOT_RESTARTED, negotiated: false }));
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain("did not re-open with graceful restart");
    expect(v.evidence).toContain("no probe ran");
  });

  test("fails when the config or the router's table were not restored", () => {
    expect(reachableAcrossRestart(restart({ configRestored: '{"gracefulRestart":true}' })).ok).toBe(false);
    expect(reachableAcrossRestart(restart({ restored: false })).ok).toBe(false);
  });
});

const death = (more: Partial<NodeDeathObservation> = {}): NodeDeathObservation => ({
  node: "node3",
  blocks: ["10.244.3.0/24"],
  holdSeconds: 9,
  presentBefore: true,
  goneMs: 5433,
  lastError: "BGP Error: Hold timer expired",
  backMs: 2015,
  ...more,
});

describe("withdrawnByHoldTimer", () => {
  test("holds when the block goes by the router's hold timer within the hold time and comes back", () => {
    const v = withdrawnByHoldTimer(death());
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain(
      "gone from the router after 5433 ms (BGP Error: Hold timer expired; hold time 9 s",
    );
  });

  test("fails when the session ended otherwise (a Cease, a closed connection): not a silent death", () => {
    const v = withdrawnByHoldTimer(death({ goneMs: 30, lastError: "Socket: Connection closed" }));
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain('ended with "Socket: Connection closed", not by its hold timer');
  });

  test("fails when the block stays, leaves late, or does not come back", () => {
    expect(withdrawnByHoldTimer(death({ goneMs: undefined })).evidence).toContain(
      "stayed in the router's table",
    );
    expect(withdrawnByHoldTimer(death({ goneMs: 12_000 })).evidence).toContain(
      "later than the hold time (9 s)",
    );
    expect(withdrawnByHoldTimer(death({ backMs: undefined })).evidence).toContain("did not come back");
    // The router's BIRD and kernel may take a moment beyond the hold time on a loaded machine.
    expect(withdrawnByHoldTimer(death({ goneMs: 10_500 })).ok).toBe(true);
  });
});
