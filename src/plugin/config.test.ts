import { describe, expect, test } from "bun:test";
import { cniFailure, podnetNetConf } from "../../test/support/cni-fixtures.ts";
import { parsePodnetConfig } from "./config.ts";

const conf = podnetNetConf;

const failure = (fn: () => unknown) => cniFailure(fn, "expected a CniError, but the config was accepted");

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

  test.each([
    ["mode", conf({ mode: "macvlan" }), ["mode", '"macvlan"']],
    ["mtu", conf({ mtu: 10 }), ["mtu 10", "68", "65535"]],
    ["bridge", conf({ bridge: "a/b" }), ["bridge", '"a/b"']],
    ["hairpinMode", conf({ hairpinMode: "yes" }), ["hairpinMode"]],
    [
      "ipam.subnet with host bits",
      conf({}, { type: "podnet-ipam", subnet: "10.0.0.1/24" }),
      ["subnet", '"10.0.0.1/24"', "host bits"],
    ],
    ["missing ipam.subnet", conf({}, { type: "podnet-ipam" }), ['"subnet"', '"ranges"']],
    [
      "relative ipam.dataDir",
      conf({}, { type: "podnet-ipam", subnet: "10.0.0.0/24", dataDir: "../x" }),
      ["ipam.dataDir", '"../x"'],
    ],
  ] as const)("invalid %s is code 7 and the message names what is wrong", (_what, netconf, named) => {
    const error = failure(() => parsePodnetConfig(netconf));
    expect(error.code).toBe(7);
    for (const text of named) expect(error.msg).toContain(text);
  });

  test("an ipam.type that is a path is code 7 naming the field and value", () => {
    const error = failure(() => parsePodnetConfig(conf({}, { type: "../../bin/sh" })));
    expect(error.code).toBe(7);
    expect(error.msg).toContain("ipam.type");
    expect(error.msg).toContain('"../../bin/sh"');
  });
});
