import { describe, expect, test } from "bun:test";
import { CniError } from "../cni/errors.ts";
import { parseNetConf } from "../cni/netconf.ts";
import { parsePodnetConfig } from "./config.ts";

const conf = (
  extra: Record<string, unknown>,
  ipam: Record<string, unknown> = { type: "podnet-ipam", subnet: "10.244.1.0/24" },
) => parseNetConf(JSON.stringify({ cniVersion: "1.1.0", name: "net", type: "podnet", ipam, ...extra }));

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
}

describe("parsePodnetConfig", () => {
  test("defaults to bridge mode on podnet0 with hairpin and MTU 1500, IPAM built in", () => {
    const c = parsePodnetConfig(conf({}));
    expect(c.mode).toBe("bridge");
    expect(c.bridge).toBe("podnet0");
    expect(c.hairpin).toBe(true);
    expect(c.mtu).toBe(1500);
    expect(c.ipam.kind).toBe("builtin");
  });

  test("any other ipam type is delegated", () => {
    const c = parsePodnetConfig(conf({ mode: "ptp" }, { type: "host-local", subnet: "10.0.0.0/24" }));
    expect(c.ipam).toEqual({ kind: "delegate", type: "host-local" });
  });

  test("invalid settings are code 7 naming the field", () => {
    expect(codeOf(() => parsePodnetConfig(conf({ mode: "macvlan" })))).toBe(7);
    expect(codeOf(() => parsePodnetConfig(conf({ mtu: 10 })))).toBe(7);
    expect(codeOf(() => parsePodnetConfig(conf({ bridge: "a/b" })))).toBe(7);
    expect(codeOf(() => parsePodnetConfig(conf({ hairpinMode: "yes" })))).toBe(7);
    expect(codeOf(() => parsePodnetConfig(conf({}, { type: "podnet-ipam", subnet: "10.0.0.1/24" })))).toBe(7);
    expect(codeOf(() => parsePodnetConfig(conf({}, { type: "podnet-ipam" })))).toBe(7);
    expect(
      codeOf(() =>
        parsePodnetConfig(conf({}, { type: "podnet-ipam", subnet: "10.0.0.0/24", dataDir: "../x" })),
      ),
    ).toBe(7);
    expect(codeOf(() => parsePodnetConfig(conf({}, { type: "../../bin/sh" })))).toBe(7);
  });
});
