/**
 * `podnet-ipam` executed standalone, as a main plugin (the reference bridge, say) executes its
 * IPAM: a repeated ADD for the same attachment gets the same address back (unlike host-local),
 * the IPAM result has no interfaces, and DEL/CHECK behave.
 */
import { describe, expect, test } from "bun:test";
import type { JsonObject } from "../../src/lab/cni-runtime.ts";
import { cniFailure, NETWORK, useFreshTestNode } from "./harness/test-node.ts";

interface IpamResult {
  cniVersion: string;
  interfaces?: unknown;
  ips: { address: string; gateway?: string; interface?: number; version?: string }[];
  routes?: { dst: string; gw?: string }[];
}

describe("podnet-ipam standalone", () => {
  const node = useFreshTestNode({ pods: 2 });

  const conf = (cniVersion: string): JsonObject => ({
    cniVersion,
    name: NETWORK,
    type: "bridge",
    ipam: {
      type: "podnet-ipam",
      ranges: [[{ subnet: "10.96.0.0/24" }], [{ subnet: "fd96::/64" }]],
      routes: [{ dst: "0.0.0.0/0" }],
      dataDir: node().stateDir,
    },
  });

  test.each(["1.1.0", "1.0.0", "0.4.0"])(
    "a repeated ADD of the same attachment returns the same addresses (%s)",
    async (cniVersion) => {
      const n = node();
      const rt = n.runtime(n.single(cniVersion, {}));
      const a = n.attachment(n.pod(0));
      const first = (await rt.exec("podnet-ipam", "ADD", conf(cniVersion), a)).output as IpamResult;
      const again = (await rt.exec("podnet-ipam", "ADD", conf(cniVersion), a)).output as IpamResult;
      expect(again).toEqual(first);

      expect(first.cniVersion).toBe(cniVersion);
      expect(first.interfaces).toBeUndefined();
      expect(first.ips.map((i) => i.address)).toEqual(["10.96.0.2/24", "fd96::2/64"]);
      expect(first.ips.map((i) => i.gateway)).toEqual(["10.96.0.1", "fd96::1"]);
      for (const ip of first.ips) {
        expect(ip.interface).toBeUndefined();
        expect(ip.version).toBe(cniVersion === "0.4.0" ? (ip.address.includes(":") ? "6" : "4") : undefined);
      }
      expect(first.routes).toEqual([{ dst: "0.0.0.0/0" }]);

      // Another attachment gets other addresses; the repeated ADD took nothing extra.
      const other = (await rt.exec("podnet-ipam", "ADD", conf(cniVersion), n.attachment(n.pod(1))))
        .output as IpamResult;
      expect(other.ips.map((i) => i.address)).toEqual(["10.96.0.3/24", "fd96::3/64"]);
      expect(n.allocations()).toHaveLength(4);
    },
  );

  test("CHECK passes while the address is held; DEL releases it, twice; CHECK then fails", async () => {
    const n = node();
    const rt = n.runtime(n.single("1.1.0", {}));
    const a = n.attachment(n.pod(0));
    const result = (await rt.exec("podnet-ipam", "ADD", conf("1.1.0"), a)).output;
    await rt.exec("podnet-ipam", "CHECK", { ...conf("1.1.0"), prevResult: result }, a);

    const del1 = await rt.exec("podnet-ipam", "DEL", conf("1.1.0"), a);
    const del2 = await rt.exec("podnet-ipam", "DEL", conf("1.1.0"), a);
    expect(del1.output).toBeUndefined();
    expect(del2.output).toBeUndefined();
    expect(n.allocations()).toEqual([]);

    const failure = await cniFailure(
      rt.exec("podnet-ipam", "CHECK", { ...conf("1.1.0"), prevResult: result }, a),
    );
    expect(failure.code).toBe(103);
    expect(failure.msg).toContain(n.pod(0).containerId);
  });
});
