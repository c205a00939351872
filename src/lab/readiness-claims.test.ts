import { describe, expect, test } from "bun:test";
import type { ProbeOutcome } from "./claims.ts";
import type { ReadinessObservation, ReadinessPhase } from "./readiness-claims.ts";
import { READINESS_CLAIM, readinessFollowsServer } from "./readiness-claims.ts";

const reply = (pod: string): ProbeOutcome => ({
  kind: "reply",
  probe: {
    reply: {
      pod,
      ip: "10.244.1.2",
      from: "10.244.0.2",
      fromPort: 40000,
      pid: 10,
      netns: "net:[1]",
      proto: "tcp",
    },
    clientNetns: "net:[2]",
    clientPid: 20,
    replyFrom: "10.96.0.10",
    localIp: "10.244.0.2",
    localPort: 40000,
  },
});
const refused: ProbeOutcome = { kind: "error", message: "cannot reach 10.96.0.10:80: connect ECONNREFUSED" };
const phase = (over: Partial<ReadinessPhase> = {}): ReadinessPhase => ({
  recordMs: 900,
  mapsMs: 1100,
  lagging: [],
  limitMs: 15000,
  ...over,
});

/** A run where readiness works: the stopped pod node2-b left, the others answered. */
function observed(over: Partial<ReadinessObservation> = {}): ReadinessObservation {
  return {
    pod: "node2-b",
    ip: "10.244.2.3",
    check: "tcp 8080",
    nodes: 2,
    stopped: phase(),
    probes: [
      { client: "node1-a", outcomes: [reply("node1-a"), reply("node2-a"), reply("node1-b")] },
      { client: "node1", outcomes: [reply("node2-a"), reply("node1-b")] },
    ],
    started: phase({ recordMs: 1000, mapsMs: 1200 }),
    ...over,
  };
}

describe("readinessFollowsServer", () => {
  test("holds when the pod left every node, nobody reached it, and it came back", () => {
    const v = readinessFollowsServer(observed());
    expect(v).toMatchObject({ ok: true, claim: READINESS_CLAIM });
    expect(v.evidence).toContain("node2-b (10.244.2.3, check tcp 8080) stopped: ready:false after 900 ms");
    expect(v.evidence).toContain("gone from all 2 nodes' endpoints after 1100 ms");
    expect(v.evidence).toContain(
      "5 connections from node1-a, node1 all answered by others (node1-a, node1-b, node2-a)",
    );
    expect(v.evidence).toContain("back on every node after 1200 ms");
  });

  test("IPv6 (a dual lab's second verdict): the pod's IPv6 address lagging on one node fails and is named", () => {
    const v6 = observed({
      ip: "fd00:10:244:2::3",
      stopped: phase({ mapsMs: undefined, lagging: ["node1"] }),
    });
    const v = readinessFollowsServer(v6);
    expect(v.ok).toBe(false);
    expect(v.evidence).toBe(
      "node2-b (fd00:10:244:2::3) was still an endpoint on node1 15000 ms after its server stopped",
    );
    expect(readinessFollowsServer({ ...v6, stopped: phase() }).evidence).toContain(
      "node2-b (fd00:10:244:2::3, check tcp 8080) stopped",
    );
  });

  // What a run with readiness ignored sees (the pod's check removed, or an agent not acting on it):
  // the record stays ready, every node keeps the address, connections sent to it are refused.
  test("fails when readiness is ignored: record ready, still an endpoint, connections refused", () => {
    const v = readinessFollowsServer(
      observed({
        stopped: phase({ recordMs: undefined, mapsMs: undefined, lagging: ["node1", "node2"] }),
        probes: [{ client: "node1-a", outcomes: [reply("node1-a"), refused, reply("node2-a"), refused] }],
        started: phase({ recordMs: 0, mapsMs: 0 }),
      }),
    );
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain("node2-b's record did not say ready:false within 15000 ms");
    expect(v.evidence).toContain("node2-b (10.244.2.3) was still an endpoint on node1, node2");
    expect(v.evidence).toContain("node1-a: cannot reach 10.96.0.10:80: connect ECONNREFUSED");
  });

  test("fails when only the record changed but one node's rules kept the pod", () => {
    const v = readinessFollowsServer(observed({ stopped: phase({ mapsMs: undefined, lagging: ["node2"] }) }));
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain("still an endpoint on node2");
  });

  test("fails when the stopped pod answered, nothing was sent, or it did not come back", () => {
    expect(
      readinessFollowsServer(observed({ probes: [{ client: "node1", outcomes: [reply("node2-b")] }] }))
        .evidence,
    ).toContain("node1 was answered by node2-b, whose server was stopped");
    expect(readinessFollowsServer(observed({ probes: [] })).evidence).toContain("no connection was sent");
    expect(readinessFollowsServer(observed({ started: undefined })).evidence).toContain(
      "was not started again",
    );
    const late = readinessFollowsServer(
      observed({ started: phase({ recordMs: undefined, mapsMs: undefined, lagging: ["node1"] }) }),
    );
    expect(late.ok).toBe(false);
    expect(late.evidence).toContain("node2-b's record was not ready again within 15000 ms");
    expect(late.evidence).toContain("was not back as an endpoint on node1");
  });

  test("many failures are counted, not all listed", () => {
    const v = readinessFollowsServer(
      observed({ probes: [{ client: "node1", outcomes: Array(20).fill(refused) }] }),
    );
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain("14 more");
  });
});
