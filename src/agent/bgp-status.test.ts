import { describe, expect, test } from "bun:test";
import { establishedFact } from "../../test/support/bgp-session-fixtures.ts";
import { parseIP } from "../ipnet/address.ts";
import type { BgpSession } from "./bgp-peers.ts";
import { birdTimeToDate, sessionStatuses } from "./bgp-status.ts";

const session: BgpSession = {
  protocol: "peer_router_lan1",
  peer: "router-lan1",
  address: parseIP("192.0.2.1"),
  localAddress: parseIP("192.0.2.11"),
  asNumber: 64512,
  localAsNumber: 64512,
  kind: "ibgp",
  holdTimeSeconds: 9,
  keepaliveSeconds: 3,
  families: [4],
  allowLocalAs: false,
};

describe("birdTimeToDate", () => {
  test("reads BIRD's iso long time as local time", () => {
    expect(birdTimeToDate("2026-12-06 16:47:29")?.getTime()).toBe(
      new Date(2026, 11, 6, 16, 47, 29).getTime(),
    );
    expect(birdTimeToDate("2026-12-06 16:47:29.250")?.getMilliseconds()).toBe(250);
  });

  test("is undefined for BIRD's default time-of-day format", () => {
    expect(birdTimeToDate("16:47:29.959")).toBeUndefined();
  });
});

describe("sessionStatuses", () => {
  const now = new Date(2026, 11, 6, 16, 48, 29, 500);

  test("an established session: its uptime and route counts", () => {
    const [s] = sessionStatuses([session], [establishedFact()], now);
    expect(s).toMatchObject({
      peer: "router-lan1",
      neighbor: "192.0.2.1",
      localAddress: "192.0.2.11",
      state: "up",
      established: true,
      establishedSeconds: 60,
      routes: [{ family: "ipv4", imported: 2, exported: 1 }],
    });
  });

  test("a session that is not up carries BIRD's last error and no uptime", () => {
    const down = establishedFact({
      state: "start",
      bgpState: "Active",
      lastError: "Received: Administrative shutdown",
    });
    const [s] = sessionStatuses([session], [down], now);
    expect(s).toMatchObject({
      established: false,
      bgpState: "Active",
      lastError: "Received: Administrative shutdown",
    });
    expect(s?.establishedSeconds).toBeUndefined();
  });

  test("a session BIRD does not list (yet) is unknown, and other protocols are ignored", () => {
    const [s] = sessionStatuses([session], [establishedFact({ protocol: "peer_other" })], now);
    expect([s?.state, s?.bgpState, s?.established, s?.routes]).toEqual(["unknown", "unknown", false, []]);
    expect(sessionStatuses([session], undefined, now)[0]?.state).toBe("unknown");
  });
});
