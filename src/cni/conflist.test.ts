import { describe, expect, test } from "bun:test";
import { cniFailure } from "../../test/support/cni-fixtures.ts";
import {
  type ConflistOptions,
  DEFAULT_CNI_VERSION,
  DEFAULT_CNI_VERSIONS,
  parseConflist,
  renderConflist,
} from "./conflist.ts";
import { parseNetConf } from "./netconf.ts";

const DUAL: ConflistOptions = {
  name: "podnet",
  subnets: ["10.244.1.0/24", "fd00:244:1::/64"],
  mode: "bridge",
};

describe("renderConflist", () => {
  test("bridge mode, dual stack: the plugin contract with defaults filled in", () => {
    expect(renderConflist(DUAL)).toEqual({
      cniVersion: "1.0.0",
      cniVersions: ["1.0.0", "1.1.0"],
      name: "podnet",
      plugins: [
        {
          type: "podnet",
          mode: "bridge",
          bridge: "podnet0",
          mtu: 1500,
          hairpinMode: true,
          ipam: {
            type: "podnet-ipam",
            ranges: [[{ subnet: "10.244.1.0/24" }], [{ subnet: "fd00:244:1::/64" }]],
            routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
            dataDir: "/run/podnet",
          },
        },
      ],
    });
  });

  test("ptp mode, single stack: no bridge, no hairpin, one range and one route", () => {
    const out = renderConflist({
      name: "pods",
      subnets: ["fd00:1::/64"],
      mode: "ptp",
      mtu: 1450,
      cniVersion: "1.0.0",
    });
    expect(out).toEqual({
      cniVersion: "1.0.0",
      name: "pods",
      plugins: [
        {
          type: "podnet",
          mode: "ptp",
          mtu: 1450,
          ipam: {
            type: "podnet-ipam",
            ranges: [[{ subnet: "fd00:1::/64" }]],
            routes: [{ dst: "::/0" }],
            dataDir: "/run/podnet",
          },
        },
      ],
    });
  });

  test("the default file, as `podnet cni conflist` prints it: versions first, for every runtime", () => {
    const text = JSON.stringify(
      renderConflist({ ...DUAL, subnets: ["10.88.0.0/24"], chain: ["portmap"] }),
      null,
      2,
    );
    expect(text).toBe(
      [
        "{",
        '  "cniVersion": "1.0.0",',
        '  "cniVersions": [',
        '    "1.0.0",',
        '    "1.1.0"',
        "  ],",
        '  "name": "podnet",',
        '  "plugins": [',
        "    {",
        '      "type": "podnet",',
        '      "mode": "bridge",',
        '      "bridge": "podnet0",',
        '      "mtu": 1500,',
        '      "hairpinMode": true,',
        '      "ipam": {',
        '        "type": "podnet-ipam",',
        '        "ranges": [',
        "          [",
        "            {",
        '              "subnet": "10.88.0.0/24"',
        "            }",
        "          ]",
        "        ],",
        '        "routes": [',
        "          {",
        '            "dst": "0.0.0.0/0"',
        "          }",
        "        ],",
        '        "dataDir": "/run/podnet"',
        "      }",
        "    },",
        "    {",
        '      "type": "portmap",',
        '      "capabilities": {',
        '        "portMappings": true',
        "      }",
        "    }",
        "  ]",
        "}",
      ].join("\n"),
    );
  });

  test("an explicit version is written alone, so no runtime negotiates another one", () => {
    for (const v of ["0.4.0", "1.0.0", "1.1.0"] as const) {
      const out = renderConflist({ ...DUAL, cniVersion: v });
      expect(out.cniVersion).toBe(v);
      expect(out).not.toHaveProperty("cniVersions");
      expect(parseConflist(JSON.stringify(out)).cniVersion).toBe(v);
    }
  });

  test("orders families IPv4 first and writes prefixes canonically", () => {
    const a = renderConflist({ ...DUAL, subnets: ["FD00:244:1:0::/64", "10.244.1.0/24"] });
    expect(a).toEqual(renderConflist(DUAL));
  });

  test("appends chained plugins in the order asked", () => {
    const out = renderConflist({
      ...DUAL,
      chain: ["tuning", "portmap"],
      bridge: "cbr0",
      dataDir: "/var/lib//podnet/",
    });
    const plugins = out.plugins as Record<string, unknown>[];
    expect(plugins.map((p) => p.type)).toEqual(["podnet", "tuning", "portmap"]);
    expect(plugins[1]).toEqual({ type: "tuning" });
    expect(plugins[2]).toEqual({ type: "portmap", capabilities: { portMappings: true } });
    expect(plugins[0]?.bridge).toBe("cbr0");
    expect((plugins[0]?.ipam as Record<string, unknown> | undefined)?.dataDir).toBe("/var/lib/podnet");
  });

  test("what it renders parses back, as a list and per plugin", () => {
    const text = JSON.stringify(renderConflist({ ...DUAL, chain: ["portmap"] }));
    // libcni before 1.2 reads only "cniVersion"; a CNI 1.1 runtime picks the highest it supports.
    expect((JSON.parse(text) as { cniVersion: string }).cniVersion).toBe(DEFAULT_CNI_VERSION);
    const list = parseConflist(text);
    expect(list.cniVersion).toBe("1.1.0");
    expect(list.cniVersions).toEqual([...DEFAULT_CNI_VERSIONS]);
    expect(list.name).toBe("podnet");
    expect(list.plugins).toHaveLength(2);
    // What a runtime hands each plugin: the list's name and version inserted.
    for (const plugin of list.plugins) {
      const conf = parseNetConf(JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...plugin }));
      expect(conf.name).toBe("podnet");
    }
  });

  test("refuses bad subnets with a clear message", () => {
    const cases: [string[], string][] = [
      [[], "no subnets given"],
      [["10.244.1.5/24"], 'host bits are set (did you mean "10.244.1.0/24"?)'],
      [["10.244.1.0"], 'missing "/length"'],
      [["10.244.0.0/16", "10.244.1.0/24"], 'subnets "10.244.0.0/16" and "10.244.1.0/24" overlap'],
      [["10.244.1.0/24", "10.245.1.0/24"], "are both IPv4; give at most one per family"],
      [["fd00:1::/64", "fd00:2::/64"], "are both IPv6"],
      [["10.0.0.0/24", "10.0.0.0/24"], "overlap"],
      [["::ffff:10.0.0.0/120"], "IPv4-mapped"],
      [["0.0.0.0/0"], "covers the whole address space"],
    ];
    for (const [subnets, reason] of cases) {
      const e = cniFailure(() => renderConflist({ ...DUAL, subnets }));
      expect(e.code).toBe(7);
      expect(e.message).toStartWith("Invalid podnet conflist options: ");
      expect(e.message).toContain(reason);
    }
  });

  test("refuses bad names, MTUs, bridges, data dirs, chains and versions", () => {
    const cases: [Partial<ConflistOptions>, number, string][] = [
      [{ name: "bad name" }, 7, 'network name "bad name"'],
      [{ mtu: 1000 }, 7, "mtu 1000 must be an integer from 1280 to 65535"],
      [{ subnets: ["10.0.0.0/24"], mtu: 67 }, 7, "from 68 to 65535"],
      [{ mtu: 70000 }, 7, "mtu 70000"],
      [{ mtu: 1500.5 }, 7, "mtu 1500.5"],
      [{ bridge: "bridge-name-too-long" }, 7, "bridge name"],
      [{ mode: "ptp", bridge: "podnet0" }, 7, "only meaningful in bridge mode"],
      [{ dataDir: "run/podnet" }, 7, "must be an absolute path"],
      [{ dataDir: "/run/../etc" }, 7, '".."'],
      [{ chain: ["portmap", "portmap"] }, 7, '"portmap" is listed twice'],
      [{ cniVersion: "0.3.1" as "1.0.0" }, 1, '"0.3.1"'],
      [{ mode: "vxlan" as "ptp" }, 7, 'mode "vxlan"'],
    ];
    for (const [extra, code, reason] of cases) {
      const e = cniFailure(() => renderConflist({ ...DUAL, ...extra }));
      expect(e.code).toBe(code);
      expect(e.message).toContain(reason);
    }
    expect(renderConflist({ ...DUAL, subnets: ["10.0.0.0/24"], mtu: 68 }).name).toBe("podnet");
  });
});

describe("cluster DNS in the conflist", () => {
  test("the plugin entry carries the node's nameserver, the cluster search path, ndots:5 and the domain", () => {
    const out = renderConflist({
      ...DUAL,
      clusterDns: { nameservers: ["169.254.20.10"], domain: "cluster.local" },
    });
    const plugin = out.plugins[0] as Record<string, unknown>;
    expect(plugin.clusterDomain).toBe("cluster.local");
    expect(plugin.dns).toEqual({
      nameservers: ["169.254.20.10"],
      search: ["svc.cluster.local", "cluster.local"],
      options: ["ndots:5"],
    });
    // What the runtime hands the plugin reads back as the netconf's dns.
    const conf = parseNetConf(JSON.stringify({ cniVersion: out.cniVersion, name: out.name, ...plugin }));
    expect(conf.dns).toEqual({
      nameservers: ["169.254.20.10"],
      search: ["svc.cluster.local", "cluster.local"],
      options: ["ndots:5"],
    });
    // Without it, no dns key at all: the runtime's own resolver configuration applies.
    expect(renderConflist(DUAL).plugins[0]).not.toHaveProperty("dns");
    expect(renderConflist(DUAL).plugins[0]).not.toHaveProperty("clusterDomain");
  });

  test("nameservers are written canonically; IPv6 works as well", () => {
    const out = renderConflist({
      ...DUAL,
      clusterDns: { nameservers: ["FD00:10:254:0::10"], domain: "k8s.example" },
    });
    expect(out.plugins[0]?.dns).toMatchObject({ nameservers: ["fd00:10:254::10"] });
  });

  test("a bad cluster domain is refused like any other option (code 7)", () => {
    const e = cniFailure(() =>
      renderConflist({ ...DUAL, clusterDns: { nameservers: ["169.254.20.10"], domain: "Cluster.Local" } }),
    );
    expect(e.code).toBe(7);
    expect(e.message).toBe(
      "Invalid podnet conflist options: cluster domain \"Cluster.Local\" is not a DNS name (lowercase labels of letters, digits and '-', separated by '.')",
    );
  });
});

describe("parseConflist", () => {
  const list = (extra: Record<string, unknown>) =>
    JSON.stringify({ cniVersion: "1.1.0", name: "podnet", plugins: [{ type: "podnet" }], ...extra });

  test("reads the flags", () => {
    expect(parseConflist(list({ disableCheck: true, disableGC: false }))).toEqual({
      cniVersion: "1.1.0",
      name: "podnet",
      plugins: [{ type: "podnet" }],
      disableCheck: true,
      disableGC: false,
    });
  });

  test("negotiates cniVersion and cniVersions: the highest one we support wins", () => {
    const a = parseConflist(list({ cniVersion: "1.0.0", cniVersions: ["1.0.0", "1.1.0", "1.2.0"] }));
    expect(a.cniVersion).toBe("1.1.0");
    expect(a.cniVersions).toEqual(["1.0.0", "1.1.0", "1.2.0"]);
    expect(parseConflist(list({ cniVersion: "1.0.0", cniVersions: ["2.0.0"] })).cniVersion).toBe("1.0.0");
    // "cniVersion" is one of the set (SPEC.md, "Version considerations"), not only a fallback.
    expect(parseConflist(list({ cniVersion: "1.1.0", cniVersions: ["1.0.0"] })).cniVersion).toBe("1.1.0");
    expect(parseConflist(list({ cniVersion: "0.3.1", cniVersions: ["1.0.0"] })).cniVersion).toBe("1.0.0");
    const none = cniFailure(() => parseConflist(list({ cniVersion: "0.3.1", cniVersions: ["2.0.0"] })));
    expect(none.code).toBe(1);
    expect(none.message).toContain('"0.3.1", "2.0.0"');
    expect(cniFailure(() => parseConflist(list({ cniVersion: 1, cniVersions: ["1.0.0"] }))).code).toBe(7);
    expect(parseConflist(list({ cniVersion: undefined, cniVersions: ["0.4.0"] })).cniVersion).toBe("0.4.0");
    expect(
      cniFailure(() => parseConflist(list({ cniVersion: undefined, cniVersions: ["2.0.0"] }))).code,
    ).toBe(1);
    expect(cniFailure(() => parseConflist(list({ cniVersions: [1] }))).code).toBe(7);
    expect(cniFailure(() => parseConflist(list({ cniVersions: "1.1.0" }))).code).toBe(7);
  });

  test("undecodable text is code 6", () => {
    for (const bad of ["", "{", "plugins: []"]) expect(cniFailure(() => parseConflist(bad)).code).toBe(6);
  });

  test("unsupported versions are code 1", () => {
    expect(cniFailure(() => parseConflist(list({ cniVersion: "0.3.1" }))).code).toBe(1);
  });

  test("structural problems are code 7 naming the field", () => {
    const cases: [string, string][] = [
      ["[]", "expected a JSON object"],
      [list({ cniVersion: undefined }), '"cniVersion" is missing'],
      [list({ name: undefined }), '"name" is missing'],
      [list({ name: "a b" }), 'network name "a b"'],
      [list({ plugins: undefined, type: "podnet" }), "single-plugin .conf files were removed"],
      [list({ plugins: {} }), '"plugins" must be an array'],
      [list({ plugins: [] }), '"plugins" is empty'],
      [list({ plugins: ["podnet"] }), '"plugins[0]" must be an object'],
      [list({ plugins: [{ type: "podnet" }, {}] }), '"plugins[1].type" is missing'],
      [
        list({ plugins: [{ type: "/bin/sh" }] }),
        '"plugins[0].type" "/bin/sh" is not a plain executable name',
      ],
      [list({ disableCheck: "true" }), '"disableCheck" must be true or false'],
      [list({ disableGC: 1 }), '"disableGC" must be true or false'],
    ];
    for (const [text, reason] of cases) {
      const e = cniFailure(() => parseConflist(text));
      expect(e.code).toBe(7);
      expect(e.message).toStartWith("Invalid network configuration list: ");
      expect(e.message).toContain(reason);
    }
  });
});
