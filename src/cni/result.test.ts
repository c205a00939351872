import { describe, expect, test } from "bun:test";
import { cniFailure } from "../../test/support/cni-fixtures.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { encodeResult, parseResult, type Result } from "./result.ts";
import { SUPPORTED_VERSIONS } from "./version.ts";

/** A result as the bridge plugin's 0.4.0 ADD prints it. */
const WIRE_040 = {
  cniVersion: "0.4.0",
  interfaces: [
    { name: "podnet0", mac: "0a:58:0a:f4:01:01" },
    { name: "veth1a2b3c4d", mac: "3a:2f:11:22:33:44" },
    { name: "eth0", mac: "0a:58:0a:f4:01:05", sandbox: "/var/run/netns/cni-1" },
  ],
  ips: [
    { version: "4", interface: 2, address: "10.244.1.5/24", gateway: "10.244.1.1" },
    { version: "6", interface: 2, address: "fd00:244:1::5/64", gateway: "fd00:244:1::1" },
  ],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00:244:1::1" }],
  dns: { nameservers: ["10.96.0.10"], search: ["default.svc.cluster.local"] },
};

const FULL_11: Result = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "podnet0", mac: "0a:58:0a:f4:01:01", mtu: 1450 },
    { name: "eth0", mac: "0a:58:0a:f4:01:05", mtu: 1450, sandbox: "/var/run/netns/cni-1" },
  ],
  ips: [
    { address: "10.244.1.5/24", gateway: "10.244.1.1", interface: 1 },
    { address: "fd00:244:1::5/64", interface: 1 },
  ],
  routes: [
    { dst: "0.0.0.0/0", gw: "10.244.1.1", mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 0 },
    { dst: "::/0" },
  ],
  dns: { nameservers: ["10.96.0.10"], domain: "cluster.local", options: ["ndots:5"] },
};

describe("parseResult", () => {
  test("reads the 0.4.0 shape, dropping the redundant ips[].version", () => {
    const r = parseResult(WIRE_040, "prevResult");
    expect(r.cniVersion).toBe("0.4.0");
    expect(r.ips).toEqual([
      { address: "10.244.1.5/24", gateway: "10.244.1.1", interface: 2 },
      { address: "fd00:244:1::5/64", gateway: "fd00:244:1::1", interface: 2 },
    ]);
    expect(r.interfaces?.[2]).toEqual({
      name: "eth0",
      mac: "0a:58:0a:f4:01:05",
      sandbox: "/var/run/netns/cni-1",
    });
    expect(r.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00:244:1::1" }]);
  });

  test("reads the 1.1 shape with its new fields", () => {
    expect(parseResult(JSON.parse(JSON.stringify(FULL_11)), "prevResult")).toEqual(FULL_11);
  });

  test("accepts 0.3.x results, whose shape is 0.4.0's", () => {
    expect(
      parseResult({ cniVersion: "0.3.1", ips: [{ version: "4", address: "10.0.0.2/24" }] }, "x").ips,
    ).toEqual([{ address: "10.0.0.2/24" }]);
  });

  test("uses the fallback version only when the document has none", () => {
    expect(parseResult({ ips: [] }, "prevResult", { fallbackVersion: "1.0.0" }).cniVersion).toBe("1.0.0");
    expect(parseResult({ cniVersion: "0.4.0" }, "prevResult", { fallbackVersion: "1.0.0" }).cniVersion).toBe(
      "0.4.0",
    );
    expect(cniFailure(() => parseResult({ ips: [] }, "prevResult")).message).toBe(
      'Invalid prevResult: "cniVersion" is missing',
    );
  });

  test("treats empty strings and zero the way Go's omitempty writes them", () => {
    const r = parseResult(
      { cniVersion: "1.0.0", interfaces: [{ name: "eth0", mac: "", sandbox: "", mtu: 0 }], ips: [] },
      "x",
    );
    expect(r.interfaces).toEqual([{ name: "eth0" }]);
  });

  test("invalid documents are code 7 by default and name the document and field", () => {
    const v = (extra: Record<string, unknown>) => ({ cniVersion: "1.1.0", ...extra });
    const cases: [unknown, string][] = [
      ["text", "expected a JSON object"],
      [[], "expected a JSON object"],
      [v({ cniVersion: 1 }), '"cniVersion" must be a string'],
      [v({ cniVersion: "2.0.0" }), 'result version "2.0.0" is not one of'],
      [v({ interfaces: {} }), '"interfaces" must be an array'],
      [v({ interfaces: [{}] }), '"interfaces[0].name" is missing'],
      [v({ interfaces: [{ name: "" }] }), '"interfaces[0].name" must not be empty'],
      [v({ interfaces: [{ name: "e", mtu: -1 }] }), '"interfaces[0].mtu" must be an integer'],
      [v({ ips: [{}] }), '"ips[0].address" is missing'],
      [v({ ips: [{ address: "10.0.0.300/24" }] }), '"ips[0].address": Invalid IP prefix "10.0.0.300/24"'],
      [v({ ips: [{ address: "10.0.0.3" }] }), 'missing "/length"'],
      [
        v({ ips: [{ address: "10.0.0.3/24", version: "6" }] }),
        '"ips[0].version" is "6" but 10.0.0.3/24 is an IPv4',
      ],
      [v({ ips: [{ address: "10.0.0.3/24", gateway: "fd00::1" }] }), '"ips[0].gateway" fd00::1 is IPv6'],
      [v({ ips: [{ address: "10.0.0.3/24", gateway: "10.0.0" }] }), '"ips[0].gateway"'],
      [
        v({ ips: [{ address: "10.0.0.3/24", interface: 0 }] }),
        '"ips[0].interface" is 0 but there are 0 interfaces',
      ],
      [
        v({ interfaces: [{ name: "eth0" }], ips: [{ address: "10.0.0.3/24", interface: 1 }] }),
        "there is 1 interface",
      ],
      [v({ ips: [{ address: "10.0.0.3/24", interface: "0" }] }), '"ips[0].interface" must be an integer'],
      [v({ routes: [{ gw: "10.0.0.1" }] }), '"routes[0].dst" is missing'],
      [v({ routes: [{ dst: "0.0.0.0/0", gw: "::1" }] }), '"routes[0].gw" ::1 is IPv6'],
      [
        v({ routes: [{ dst: "0.0.0.0/0", scope: 256 }] }),
        '"routes[0].scope" must be an integer from 0 to 255',
      ],
      [v({ dns: [] }), '"dns" must be an object'],
      [v({ dns: { domain: 1 } }), '"dns.domain" must be a string'],
    ];
    for (const [value, reason] of cases) {
      const e = cniFailure(() => parseResult(value, "prevResult"));
      expect(e.code).toBe(7);
      expect(e.message).toStartWith("Invalid prevResult: ");
      expect(e.message).toContain(reason);
    }
  });

  test("a delegate's output can be reported as code 6", () => {
    const e = cniFailure(() => parseResult(42, "result of podnet-ipam", { code: 6 }));
    expect(e.code).toBe(6);
    expect(e.message).toBe("Invalid result of podnet-ipam: expected a JSON object");
  });
});

describe("encodeResult", () => {
  test("0.4.0 adds ips[].version and drops the 1.1 fields", () => {
    expect(encodeResult(FULL_11, "0.4.0")).toEqual({
      cniVersion: "0.4.0",
      interfaces: [
        { name: "podnet0", mac: "0a:58:0a:f4:01:01" },
        { name: "eth0", mac: "0a:58:0a:f4:01:05", sandbox: "/var/run/netns/cni-1" },
      ],
      ips: [
        { version: "4", interface: 1, address: "10.244.1.5/24", gateway: "10.244.1.1" },
        { version: "6", interface: 1, address: "fd00:244:1::5/64" },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.244.1.1" }, { dst: "::/0" }],
      dns: { nameservers: ["10.96.0.10"], domain: "cluster.local", options: ["ndots:5"] },
    });
  });

  test("1.0.0 has no ips[].version and no 1.1 fields", () => {
    const out = encodeResult(parseResult(WIRE_040, "prevResult"), "1.0.0");
    expect(out.cniVersion).toBe("1.0.0");
    expect(out.ips).toEqual([
      { interface: 2, address: "10.244.1.5/24", gateway: "10.244.1.1" },
      { interface: 2, address: "fd00:244:1::5/64", gateway: "fd00:244:1::1" },
    ]);
    expect((encodeResult(FULL_11, "1.0.0").routes as unknown[])[0]).toEqual({
      dst: "0.0.0.0/0",
      gw: "10.244.1.1",
    });
  });

  test("1.1.0 keeps everything and sets the config's version", () => {
    expect(encodeResult({ ...FULL_11, cniVersion: "0.4.0" }, "1.1.0")).toEqual({ ...FULL_11 });
  });

  test("omits empty lists and an empty dns", () => {
    expect(
      encodeResult({ cniVersion: "1.1.0", interfaces: [], ips: [], routes: [], dns: {} }, "1.1.0"),
    ).toEqual({
      cniVersion: "1.1.0",
    });
    expect(encodeResult({ cniVersion: "1.1.0", dns: { nameservers: [], domain: "" } }, "1.1.0")).toEqual({
      cniVersion: "1.1.0",
    });
  });

  test("converting 0.4.0 → 1.1.0 → 0.4.0 gives back the original wire form", () => {
    const up = encodeResult(parseResult(WIRE_040, "prevResult"), "1.1.0");
    expect(up.ips).toEqual(WIRE_040.ips.map(({ version: _v, ...rest }) => rest));
    expect(encodeResult(parseResult(up, "prevResult"), "0.4.0")).toEqual(WIRE_040);
  });

  test("random results survive encode → JSON → parse for every version", () => {
    const rand = mulberry32(2024);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const maybe = <T>(v: T): T | undefined => (rand() < 0.5 ? v : undefined);
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rand() * 3);
      const interfaces = Array.from({ length: n }, (_, k) => ({
        name: `eth${k}`,
        mac: maybe(`0a:58:00:00:00:0${k}`),
        mtu: maybe(1280 + Math.floor(rand() * 8000)),
        sandbox: maybe("/var/run/netns/x"),
      }));
      const ips = Array.from({ length: Math.floor(rand() * 3) }, () => {
        const v6 = rand() < 0.5;
        const host = 2 + Math.floor(rand() * 250);
        return {
          address: v6 ? `fd00::${host.toString(16)}/64` : `10.1.2.${host}/24`,
          gateway: maybe(v6 ? "fd00::1" : "10.1.2.1"),
          interface: n > 0 ? maybe(Math.floor(rand() * n)) : undefined,
        };
      });
      const routes = Array.from({ length: Math.floor(rand() * 3) }, () => ({
        dst: pick(["0.0.0.0/0", "10.96.0.0/12", "::/0"]),
        priority: maybe(Math.floor(rand() * 1000)),
      }));
      const result = JSON.parse(JSON.stringify({ cniVersion: "1.1.0", interfaces, ips, routes })) as Result;
      const version = pick(SUPPORTED_VERSIONS);
      const wire = JSON.parse(JSON.stringify(encodeResult(result, version)));
      const back = parseResult(wire, "result");
      expect(back.cniVersion).toBe(version);
      // Addresses and interface indexes are never lost in any version.
      expect(back.ips ?? []).toEqual(ips.map((ip) => JSON.parse(JSON.stringify(ip))));
      expect((back.interfaces ?? []).map((x) => x.name)).toEqual(interfaces.map((x) => x.name));
      if (version === "1.1.0") {
        expect(encodeResult(back, "1.1.0")).toEqual(encodeResult(result, "1.1.0"));
      } else {
        expect(back.interfaces?.some((x) => x.mtu !== undefined) ?? false).toBe(false);
        expect(back.routes?.some((x) => x.priority !== undefined) ?? false).toBe(false);
      }
      for (const ip of (wire.ips ?? []) as { version?: string; address: string }[]) {
        expect(ip.version).toBe(version === "0.4.0" ? (ip.address.includes(":") ? "6" : "4") : undefined);
      }
    }
  });
});
