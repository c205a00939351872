import { describe, expect, test } from "bun:test";
import { cniFailure } from "../../test/support/cni-fixtures.ts";
import { parseNetConf, parseValidAttachments, requestedIPs } from "./netconf.ts";

const BASE = {
  cniVersion: "1.1.0",
  name: "podnet",
  type: "podnet",
  mode: "bridge",
  ipam: { type: "podnet-ipam", ranges: [[{ subnet: "10.244.1.0/24" }]] },
};

function conf(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...BASE, ...extra });
}

describe("parseNetConf", () => {
  test("reads the well-known fields and keeps the whole object in raw", () => {
    const c = parseNetConf(
      conf({
        dns: { nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] },
        runtimeConfig: { portMappings: [] },
        args: { cni: { ips: ["10.244.1.9"] } },
        prevResult: { cniVersion: "1.1.0", ips: [] },
      }),
    );
    expect(c.cniVersion).toBe("1.1.0");
    expect(c.name).toBe("podnet");
    expect(c.type).toBe("podnet");
    expect(c.ipam).toEqual({ type: "podnet-ipam", ranges: [[{ subnet: "10.244.1.0/24" }]] });
    expect(c.dns).toEqual({ nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] });
    expect(c.runtimeConfig).toEqual({ portMappings: [] });
    expect(c.args).toEqual({ cni: { ips: ["10.244.1.9"] } });
    expect(c.prevResult).toEqual({ cniVersion: "1.1.0", ips: [] });
    expect(c.raw.mode).toBe("bridge");
  });

  test("optional sections may be absent or null", () => {
    const c = parseNetConf(JSON.stringify({ cniVersion: "0.4.0", name: "n", type: "tuning", dns: null }));
    expect(c.ipam).toBeUndefined();
    expect(c.dns).toBeUndefined();
    expect(c.prevResult).toBeUndefined();
    expect(c.cniVersion).toBe("0.4.0");
  });

  test("undecodable input is code 6", () => {
    for (const bad of ["", "   ", "{", "{'a':1}", "nul"]) {
      const e = cniFailure(() => parseNetConf(bad));
      expect(e.code).toBe(6);
      expect(e.message).toStartWith("Cannot decode network configuration: ");
    }
  });

  test("structural problems are code 7 and name the field", () => {
    const cases: [string, string][] = [
      ["[1]", "expected a JSON object"],
      ["null", "expected a JSON object"],
      ['"x"', "expected a JSON object"],
      [JSON.stringify({ cniVersion: "1.1.0", type: "podnet" }), '"name" is missing'],
      [JSON.stringify({ cniVersion: "1.1.0", name: "n" }), '"type" is missing'],
      [conf({ name: 5 }), '"name" must be a string, got the number 5'],
      [conf({ name: "-bad" }), 'network name "-bad" must start with a letter or digit'],
      [conf({ name: "has space" }), "network name"],
      [conf({ type: "" }), '"type" must not be empty'],
      [conf({ type: "../bin/sh" }), "not a plain executable name"],
      [conf({ ipam: [] }), '"ipam" must be an object, got an array'],
      [conf({ ipam: {} }), '"ipam.type" is missing'],
      [conf({ ipam: { type: "a/b" } }), '"ipam.type"'],
      [conf({ dns: { nameservers: "10.0.0.1" } }), '"dns.nameservers" must be an array'],
      [conf({ dns: { nameservers: [1] } }), '"dns.nameservers[0]" must be a string'],
      [conf({ runtimeConfig: "x" }), '"runtimeConfig" must be an object'],
      [conf({ args: [] }), '"args" must be an object'],
      [conf({ cniVersion: undefined }), '"cniVersion" is missing'],
    ];
    for (const [text, reason] of cases) {
      const e = cniFailure(() => parseNetConf(text));
      expect(e.code).toBe(7);
      expect(e.message).toStartWith("Invalid network configuration: ");
      expect(e.message).toContain(reason);
    }
  });

  test("an unsupported version is code 1", () => {
    const e = cniFailure(() => parseNetConf(conf({ cniVersion: "0.3.1" })));
    expect(e.code).toBe(1);
    expect(e.message).toContain('"0.3.1"');
  });
});

describe("parseValidAttachments", () => {
  const list = [
    { containerID: "abc123", ifname: "eth0" },
    { containerID: "def456", ifname: "net1" },
  ];
  const expected = [
    { network: "podnet", containerId: "abc123", ifname: "eth0" },
    { network: "podnet", containerId: "def456", ifname: "net1" },
  ];

  test("reads cni.dev/valid-attachments", () => {
    expect(parseValidAttachments(parseNetConf(conf({ "cni.dev/valid-attachments": list })))).toEqual(
      expected,
    );
  });

  test("falls back to the draft key cni.dev/attachments", () => {
    expect(parseValidAttachments(parseNetConf(conf({ "cni.dev/attachments": list })))).toEqual(expected);
  });

  test("prefers valid-attachments when both are present", () => {
    const c = parseNetConf(conf({ "cni.dev/valid-attachments": [], "cni.dev/attachments": list }));
    expect(parseValidAttachments(c)).toEqual([]);
  });

  test("drops exact duplicates", () => {
    const c = parseNetConf(conf({ "cni.dev/valid-attachments": [...list, list[0]] }));
    expect(parseValidAttachments(c)).toEqual(expected);
  });

  test("a missing list is code 7, not 'keep nothing'", () => {
    const e = cniFailure(() => parseValidAttachments(parseNetConf(conf())));
    expect(e.code).toBe(7);
    expect(e.message).toContain('"cni.dev/valid-attachments" is missing');
  });

  test("a badly shaped list is code 7 naming the entry", () => {
    const cases: [unknown, string][] = [
      [{}, '"cni.dev/valid-attachments" must be an array'],
      [["abc"], '"cni.dev/valid-attachments[0]" must be an object'],
      [[{ ifname: "eth0" }], '"cni.dev/valid-attachments[0].containerID" is missing'],
      [[{ containerId: "abc", ifname: "eth0" }], '"cni.dev/valid-attachments[0].containerID" is missing'],
      [[{ containerID: "abc" }], '"cni.dev/valid-attachments[0].ifname" is missing'],
      [
        [list[0], { containerID: "abc", ifname: 3 }],
        '"cni.dev/valid-attachments[1].ifname" must be a string',
      ],
      [[{ containerID: "-x", ifname: "eth0" }], "must start with a letter or digit"],
      [[{ containerID: "abc", ifname: "a/b" }], 'must not contain "/"'],
    ];
    for (const [value, reason] of cases) {
      const e = cniFailure(() =>
        parseValidAttachments(parseNetConf(conf({ "cni.dev/valid-attachments": value }))),
      );
      expect(e.code).toBe(7);
      expect(e.message).toContain(reason);
    }
    const legacy = cniFailure(() =>
      parseValidAttachments(parseNetConf(conf({ "cni.dev/attachments": [1] }))),
    );
    expect(legacy.message).toContain('"cni.dev/attachments[0]"');
  });
});

describe("requestedIPs", () => {
  test("collects CNI_ARGS IP, args.cni.ips and runtimeConfig.ips in order, without duplicates", () => {
    const c = parseNetConf(
      conf({
        args: { cni: { ips: ["10.244.1.20", "fd00::20"] } },
        runtimeConfig: { ips: ["10.244.1.30/24", "10.244.1.10"] },
      }),
    );
    expect(requestedIPs(c, { IP: "10.244.1.10, fd00::10" })).toEqual([
      "10.244.1.10",
      "fd00::10",
      "10.244.1.20",
      "fd00::20",
      "10.244.1.30/24",
    ]);
  });

  test("each source alone", () => {
    expect(requestedIPs(parseNetConf(conf()), { IP: "10.244.1.10" })).toEqual(["10.244.1.10"]);
    expect(requestedIPs(parseNetConf(conf({ args: { cni: { ips: ["fd00::1"] } } })), {})).toEqual([
      "fd00::1",
    ]);
    expect(requestedIPs(parseNetConf(conf({ runtimeConfig: { ips: ["10.0.0.1"] } })), {})).toEqual([
      "10.0.0.1",
    ]);
  });

  test("nothing requested gives an empty list", () => {
    expect(requestedIPs(parseNetConf(conf()), {})).toEqual([]);
    expect(requestedIPs(parseNetConf(conf({ args: { labels: {} } })), { IP: "" })).toEqual([]);
  });

  test("non-string entries are code 7", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ args: { cni: { ips: [10] } } }, '"args.cni.ips[0]" must be a string'],
      [{ args: { cni: { ips: "10.0.0.1" } } }, '"args.cni.ips" must be an array'],
      [{ args: { cni: [] } }, '"args.cni" must be an object'],
      [{ runtimeConfig: { ips: [null] } }, '"runtimeConfig.ips[0]" must be a string'],
    ];
    for (const [extra, reason] of cases) {
      const e = cniFailure(() => requestedIPs(parseNetConf(conf(extra)), {}));
      expect(e.code).toBe(7);
      expect(e.message).toContain(reason);
    }
  });
});
