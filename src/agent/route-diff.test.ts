import { describe, expect, test } from "bun:test";
import { parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import type { PeerRoute } from "./peer-routes.ts";
import { planRouteSync } from "./route-diff.ts";

const direct: PeerRoute = {
  kind: "direct",
  peer: "node2",
  block: parsePrefix("10.244.2.0/24"),
  via: parseIP("192.0.2.12"),
};
const tunnel: PeerRoute = {
  kind: "vxlan",
  peer: "node3",
  block: parsePrefix("10.244.3.0/24"),
  vtep: parseIP("10.244.3.0"),
  vtepMac: "02:00:00:00:00:03",
  underlay: parseIP("198.51.100.13"),
};
const empty = { routes: [], neighs: [], fdb: [] };
const lines = (cmds: readonly (readonly string[])[]) => cmds.map((c) => c.join(" "));

describe("planRouteSync", () => {
  test("programs everything on an empty kernel", () => {
    const plan = planRouteSync([direct, tunnel], empty, "eth0", "podnet.vx");
    expect(lines(plan.ip)).toEqual([
      "route replace 10.244.2.0/24 via 192.0.2.12 dev eth0 proto 200",
      "route replace 10.244.3.0/24 via 10.244.3.0 dev podnet.vx onlink proto 200",
      "neigh replace 10.244.3.0 lladdr 02:00:00:00:00:03 dev podnet.vx nud permanent",
    ]);
    expect(lines(plan.bridge)).toEqual([
      "fdb replace 02:00:00:00:00:03 dev podnet.vx dst 198.51.100.13 self permanent",
    ]);
  });

  test("does nothing when the kernel already matches", () => {
    const current = {
      routes: [
        { dst: "10.244.2.0/24", gateway: "192.0.2.12", dev: "eth0", flags: [] },
        { dst: "10.244.3.0/24", gateway: "10.244.3.0", dev: "podnet.vx", flags: ["onlink"] },
      ],
      neighs: [{ dst: "10.244.3.0", lladdr: "02:00:00:00:00:03", state: ["PERMANENT"] }],
      fdb: [{ mac: "02:00:00:00:00:03", dst: "198.51.100.13", state: "permanent" }],
    };
    const plan = planRouteSync([direct, tunnel], current, "eth0", "podnet.vx");
    expect(plan.ip).toEqual([]);
    expect(plan.bridge).toEqual([]);
  });

  test("re-points a peer whose node IP changed and removes what no peer needs", () => {
    const current = {
      routes: [
        { dst: "10.244.2.0/24", gateway: "192.0.2.99", dev: "eth0", flags: [] },
        { dst: "10.244.9.0/24", gateway: "10.244.9.0", dev: "podnet.vx", flags: ["onlink"] },
      ],
      neighs: [{ dst: "10.244.9.0", lladdr: "02:00:00:00:00:09", state: ["PERMANENT"] }],
      fdb: [
        { mac: "02:00:00:00:00:09", dst: "198.51.100.19", state: "permanent" },
        { mac: "00:00:00:00:00:00", dst: "198.51.100.1", state: "" },
      ],
    };
    const plan = planRouteSync([direct], current, "eth0", "podnet.vx");
    expect(lines(plan.ip)).toEqual([
      "route replace 10.244.2.0/24 via 192.0.2.12 dev eth0 proto 200",
      "route del 10.244.9.0/24 proto 200",
      "neigh del 10.244.9.0 dev podnet.vx",
    ]);
    expect(lines(plan.bridge)).toEqual(["fdb del 02:00:00:00:00:09 dev podnet.vx dst 198.51.100.19 self"]);
  });

  test("moves routes to the backup metric beside the old ones, then removes the old ones", () => {
    const current = {
      routes: [
        { dst: "10.244.2.0/24", gateway: "192.0.2.12", dev: "eth0", flags: [] },
        { dst: "fd00:10:244:2::/64", gateway: "2001:db8::12", dev: "eth0", flags: [], metric: 1024 },
      ],
      neighs: [],
      fdb: [],
    };
    const v6: PeerRoute = {
      kind: "direct",
      peer: "node2",
      block: parsePrefix("fd00:10:244:2::/64"),
      via: parseIP("2001:db8::12"),
      metric: 1024,
    };
    const plan = planRouteSync([{ ...direct, metric: 1024 }, v6], current, "eth0", "podnet.vx");
    expect(lines(plan.ip)).toEqual([
      "route replace 10.244.2.0/24 via 192.0.2.12 dev eth0 metric 1024 proto 200",
      "route del 10.244.2.0/24 proto 200",
    ]);
    const back = planRouteSync(
      [direct],
      { ...current, routes: [{ ...current.routes[0], metric: 1024 } as (typeof current.routes)[0]] },
      "eth0",
      "podnet.vx",
    );
    expect(lines(back.ip)).toEqual([
      "route replace 10.244.2.0/24 via 192.0.2.12 dev eth0 proto 200",
      "route del 10.244.2.0/24 metric 1024 proto 200",
    ]);
  });

  test("installs nothing for blocks BIRD routes, and removes podnet's old route for them", () => {
    const bgp: PeerRoute = { kind: "bgp", peer: "node2", block: parsePrefix("10.244.2.0/24") };
    const current = {
      routes: [{ dst: "10.244.2.0/24", gateway: "192.0.2.12", dev: "eth0", flags: [] }],
      neighs: [],
      fdb: [],
    };
    expect(lines(planRouteSync([bgp], current, "eth0", "podnet.vx").ip)).toEqual([
      "route del 10.244.2.0/24 proto 200",
    ]);
    expect(planRouteSync([bgp], empty, "eth0", "podnet.vx")).toEqual({ ip: [], bridge: [] });
  });
});
