/** parseBgpProtocols / parseBirdRoutes over real birdc output captured from BIRD 2.0.12 (golden/bird-*.txt). */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBgpProtocols, parseBirdRoutes } from "./bird-status-parse.ts";

const golden = (name: string) => readFileSync(join(import.meta.dir, "golden", `bird-${name}.txt`), "utf8");

describe("parseBgpProtocols", () => {
  test("an established iBGP session with both families", () => {
    const [s, ...rest] = parseBgpProtocols(golden("protocols-all-established"));
    expect(rest).toEqual([]);
    expect(s).toEqual({
      protocol: "node1",
      state: "up",
      bgpState: "Established",
      since: "16:47:29.959",
      info: "Established",
      neighbor: "192.0.2.11",
      neighborAs: 64512,
      localAs: 64512,
      neighborId: "192.0.2.11",
      session: "internal multihop route-reflector AS4",
      sourceAddress: "192.0.2.1",
      holdTimer: { remaining: 7.341, configured: 9 },
      keepaliveTimer: { remaining: 0.056, configured: 3 },
      routes: [
        {
          family: "ipv4",
          state: "UP",
          imported: 1,
          filtered: 0,
          exported: 1,
          preferred: 1,
          nextHop: "192.0.2.1",
        },
        {
          family: "ipv6",
          state: "UP",
          imported: 1,
          filtered: 0,
          exported: 1,
          preferred: 1,
          nextHop: "2001:db8:1::1",
        },
      ],
    });
  });

  test("only BGP protocols become facts: a passive dynamic template and a session waiting to reconnect", () => {
    const facts = parseBgpProtocols(golden("protocols-all-router-dynamic"));
    expect(facts.map((f) => [f.protocol, f.state, f.bgpState, f.neighbor])).toEqual([
      ["lan1", "start", "Passive", "192.0.2.0/24"],
      ["dyn1", "start", "Active", "192.0.2.11"],
    ]);
    const dyn = facts[1];
    expect(dyn?.info).toBe("Active  Received: Other configuration change");
    expect(dyn?.lastError).toBe("Received: Other configuration change");
    expect(dyn?.connectDelay).toEqual({ remaining: 1.726, configured: 5 });
    expect(dyn?.holdTimer).toBeUndefined();
    expect(dyn?.since).toBe("17:20:50.793");
    expect(dyn?.routes).toEqual([
      { family: "ipv4", state: "DOWN", imported: 0, filtered: 0, exported: 0, preferred: 0 },
    ]);
  });

  test("graceful-restart capabilities do not leak into the session's fields", () => {
    const [s] = parseBgpProtocols(golden("protocols-all-gr"));
    expect(s).toMatchObject({
      protocol: "uplink",
      bgpState: "Established",
      session: "internal multihop AS4",
    });
    expect(s?.routes).toEqual([
      {
        family: "ipv4",
        state: "UP",
        imported: 0,
        filtered: 0,
        exported: 2,
        preferred: 0,
        nextHop: "192.0.2.11",
      },
    ]);
  });

  test("a session stuck in Connect (wrong TCP MD5 password) has no timers and no routes", () => {
    const [s] = parseBgpProtocols(golden("protocols-all-connect"));
    expect(s).toMatchObject({ state: "start", bgpState: "Connect", info: "Connect", neighbor: "192.0.2.1" });
    expect(s?.lastError).toBeUndefined();
    expect(s?.routes[0]?.exported).toBe(0);
  });

  test("a long time format (timeformat protocol iso long) keeps the date in since", () => {
    const text =
      "uplink     BGP        ---        up     2026-12-06 16:47:29  Established   \n  BGP state:          Established\n";
    expect(parseBgpProtocols(text)[0]?.since).toBe("2026-12-06 16:47:29");
  });
});

describe("parseBirdRoutes", () => {
  test("an iBGP route with its BGP next hop and an empty AS path", () => {
    expect(parseBirdRoutes(golden("route-all-ibgp"))).toEqual([
      {
        prefix: "10.244.1.0/24",
        family: "ipv4",
        table: "master4",
        type: "unicast",
        protocol: "node1",
        since: "16:47:30.301",
        primary: true,
        preference: 100,
        nextHops: [{ via: "192.0.2.11", dev: "r1" }],
        via: "192.0.2.11",
        bgpNextHop: "192.0.2.11",
        asPath: [],
        localPref: 100,
      },
    ]);
  });

  test("a reflected route resolves through the router but keeps the originator's next hop", () => {
    const [r] = parseBirdRoutes(golden("route-all-reflected"));
    expect(r?.via).toBe("198.51.100.1");
    expect(r?.bgpNextHop).toBe("192.0.2.11");
    expect(r?.originatorId).toBe("192.0.2.11");
    expect(r?.clusterList).toEqual(["192.0.2.1"]);
  });

  test("an eBGP route carries the AS path", () => {
    const [r] = parseBirdRoutes(golden("route-all-ebgp"));
    expect(r?.asPath).toEqual([64500, 64512]);
    expect(r?.protocol).toBe("uplink");
  });

  test("a node's table: kernel default, learned blocks, its own blackholes, both families", () => {
    const routes = parseBirdRoutes(golden("route-node"));
    expect(
      routes.map((r) => [r.table, r.prefix, r.type, r.protocol, r.via ?? r.nextHops[0]?.dev ?? null]),
    ).toEqual([
      ["master4", "0.0.0.0/0", "unicast", "k4", "198.51.100.1"],
      ["master4", "10.244.1.0/24", "unicast", "uplink", "198.51.100.1"],
      ["master4", "10.244.2.0/24", "blackhole", "blocks4", null],
      ["master4", "198.51.100.0/24", "unicast", "direct1", "eth0"],
      ["master6", "::/0", "unicast", "k6", "2001:db8:2::1"],
      ["master6", "2001:db8:2::/64", "unicast", "direct1", "eth0"],
      ["master6", "fd00:10:244:2::/64", "blackhole", "blocks6", null],
      ["master6", "fd00:10:244:1::/64", "unicast", "uplink", "2001:db8:2::1"],
    ]);
    expect(routes.find((r) => r.prefix === "fd00:10:244:1::/64")?.from).toBe("198.51.100.1");
  });

  test("a second route for the same prefix (blank prefix column) and a multipath next hop", () => {
    const text = [
      "Table master4:",
      "10.244.1.0/24        unicast [dyn1 16:47:30.301] * (100) [i]",
      "\tvia 192.0.2.11 on r1 weight 1",
      "\tvia 192.0.2.51 on r1 weight 1",
      "                     unicast [dyn2 16:47:31.000] (100) [i]",
      "\tvia 192.0.2.51 on r1",
      "\tBGP.next_hop: 192.0.2.51",
    ].join("\n");
    const routes = parseBirdRoutes(text);
    expect(routes.map((r) => [r.prefix, r.protocol, r.primary, r.nextHops.length])).toEqual([
      ["10.244.1.0/24", "dyn1", true, 2],
      ["10.244.1.0/24", "dyn2", false, 1],
    ]);
    expect(routes[0]?.nextHops[1]).toEqual({ via: "192.0.2.51", dev: "r1", weight: 1 });
  });
});
