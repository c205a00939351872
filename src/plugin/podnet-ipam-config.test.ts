import { describe, expect, test } from "bun:test";
import { DEFAULT_DATA_DIR } from "../cni/conflist.ts";
import { CniError } from "../cni/errors.ts";
import { formatIP } from "../ipnet/address.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { parsePodnetIpam } from "./podnet-ipam-config.ts";

describe("parsePodnetIpam", () => {
  test("reads host-local style ranges, routes and dataDir", () => {
    const c = parsePodnetIpam({
      type: "podnet-ipam",
      ranges: [
        [{ subnet: "10.1.0.0/24", rangeStart: "10.1.0.10", rangeEnd: "10.1.0.20" }],
        [{ subnet: "fd00::/64" }],
      ],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "192.0.2.0/24", gw: "10.1.0.254" }],
      dataDir: "/tmp/x",
    });
    expect(c.rangeSets.length).toBe(2);
    expect(formatIP(c.rangeSets[0]?.[0]?.start as never)).toBe("10.1.0.10");
    expect(c.routes.map((r) => `${formatPrefix(r.dst)}${r.gw ? ` via ${formatIP(r.gw)}` : ""}`)).toEqual([
      "0.0.0.0/0",
      "192.0.2.0/24 via 10.1.0.254",
    ]);
    expect(c.dataDir).toBe("/tmp/x");
  });

  test("accepts the single-subnet shorthand and defaults dataDir to /run/podnet", () => {
    const c = parsePodnetIpam({ type: "podnet-ipam", subnet: "10.2.0.0/16" });
    expect(c.rangeSets.length).toBe(1);
    expect(c.dataDir).toBe(DEFAULT_DATA_DIR);
  });

  test("rejects a route gateway of the other family and overlapping range sets with code 7", () => {
    const bad = [
      { type: "podnet-ipam", subnet: "10.2.0.0/16", routes: [{ dst: "0.0.0.0/0", gw: "fd00::1" }] },
      { type: "podnet-ipam", ranges: [[{ subnet: "10.0.0.0/16" }], [{ subnet: "10.0.1.0/24" }]] },
      { type: "podnet-ipam", ranges: [] },
      { type: "podnet-ipam", subnet: "not-a-cidr" },
    ];
    for (const ipam of bad) {
      let code: number | undefined;
      try {
        parsePodnetIpam(ipam);
      } catch (e) {
        code = e instanceof CniError ? e.code : -1;
      }
      expect(code).toBe(7);
    }
  });
});
