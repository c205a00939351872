import { describe, expect, test } from "bun:test";
import { establishedSession, IPV4_ROUTES } from "../../test/support/bgp-session-fixtures.ts";
import { parseBgpStatusRecord } from "../cluster/bgp-status-records.ts";
import { type BgpSessionStatus, type BgpStatus, EMPTY_BGP_STATUS } from "./bgp-status.ts";
import { bgpRecordSignature, bgpStatusRecord } from "./bgp-status-record.ts";

const session = establishedSession({
  routes: [IPV4_ROUTES, { family: "ipv6", state: "UP", imported: 1, filtered: 0, exported: 1, preferred: 1 }],
});

const status: BgpStatus = {
  ...EMPTY_BGP_STATUS,
  enabled: true,
  running: true,
  pid: 4242,
  routerId: "192.0.2.11",
  announced: ["10.244.1.0/24", "fd00:10:244:1::/64"],
  sessions: [session],
};

describe("bgpStatusRecord", () => {
  test("one row per session: BGP state, since in ISO 8601, routes summed over the families", () => {
    const now = new Date("2026-12-06T17:00:00Z");
    const record = bgpStatusRecord("node1", status, now);
    expect(record).toEqual({
      node: "node1",
      updatedAt: "2026-12-06T17:00:00.000Z",
      running: true,
      routerId: "192.0.2.11",
      announced: ["10.244.1.0/24", "fd00:10:244:1::/64"],
      sessions: [
        {
          peer: "router-lan1",
          neighbor: "192.0.2.1",
          localAsNumber: 64512,
          asNumber: 64512,
          state: "Established",
          since: new Date(2026, 11, 6, 16, 47, 29).toISOString(),
          received: 3,
          advertised: 2,
        },
      ],
    });
    // What the datastore accepts and `podnet cluster bgp show` reads.
    expect(parseBgpStatusRecord("/podnet/bgp-status/node1", JSON.stringify(record))).toEqual(record);
  });

  test("a session that is down carries BIRD's last error; no since before the first poll", () => {
    const down: BgpSessionStatus = {
      ...session,
      state: "unknown",
      bgpState: "Active",
      established: false,
      since: undefined,
      lastError: "Socket: Connection refused",
      routes: [],
    };
    const record = bgpStatusRecord("node1", { ...status, sessions: [down], lastError: "boom" }, new Date());
    expect(record.sessions[0]).toEqual({
      peer: "router-lan1",
      neighbor: "192.0.2.1",
      localAsNumber: 64512,
      asNumber: 64512,
      state: "Active",
      received: 0,
      advertised: 0,
      lastError: "Socket: Connection refused",
    });
    expect(record.lastError).toBe("boom");
  });

  test("the signature ignores the write time and session age, not a state change", () => {
    const a = bgpStatusRecord("node1", status, new Date(1000));
    const older = { ...status, sessions: [{ ...session, establishedSeconds: 99 }] };
    expect(bgpRecordSignature(bgpStatusRecord("node1", older, new Date(5000)))).toBe(bgpRecordSignature(a));
    const idle = { ...status, sessions: [{ ...session, bgpState: "Idle", established: false }] };
    expect(bgpRecordSignature(bgpStatusRecord("node1", idle, new Date(1000)))).not.toBe(
      bgpRecordSignature(a),
    );
  });
});
