import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { establishedFact } from "../../test/support/bgp-session-fixtures.ts";
import { formatRouterSessionRows } from "../cli/lab-status-table.ts";
import { parseBgpProtocols } from "../linux/bird-status-parse.ts";
import { routerSessionRows } from "./lab-status.ts";

const golden = (name: string) => readFileSync(join(import.meta.dir, "../linux/golden", name), "utf8");
const NODES = [
  { name: "node1", address: "192.0.2.11/24", addresses: ["192.0.2.11/24", "2001:db8:1::11/64"] },
  { name: "node3", address: "198.51.100.13/24" },
];

describe("routerSessionRows", () => {
  test("lists the dynamic sessions BIRD spawned, each named by its node, not the segment listeners", () => {
    const rows = routerSessionRows(parseBgpProtocols(golden("bird-protocols-all-router-dynamic.txt")), NODES);
    expect(rows.map((r) => [r.protocol, r.node, r.neighbor])).toEqual([["dyn1", "node1", "192.0.2.11"]]);
    expect(rows[0]?.state).toBe("Active");
  });

  test("an established session shows its routes per family; an unknown neighbor is shown as ?", () => {
    const fact = establishedFact({
      protocol: "lan2_v4_1",
      neighbor: "198.51.100.13",
      routes: [{ family: "ipv4", state: "UP", imported: 1, filtered: 0, exported: 2, preferred: 1 }],
    });
    const other = { ...fact, protocol: "lan2_v4_2", neighbor: "198.51.100.77" };
    const rows = routerSessionRows([fact, other], NODES);
    expect(rows.map((r) => [r.node, r.routes])).toEqual([
      ["node3", "ipv4 1/2"],
      ["?", "ipv4 1/2"],
    ]);
    const text = formatRouterSessionRows(rows);
    expect(text).toContain("NODE");
    expect(text).toMatch(/node3\s+198\.51\.100\.13\s+lan2_v4_1\s+Established/);
  });
});
