import { describe, expect, test } from "bun:test";
import type { BgpConfig, BgpPeer } from "./bgp-config.ts";
import {
  BgpConfigError,
  DEFAULT_BGP_CONFIG,
  encodeBgpConfig,
  parseBgpConfig,
  validateBgpConfig,
} from "./bgp-config.ts";

const router: BgpPeer = { name: "router-lan1", address: "192.0.2.1", asNumber: 64512 };

function withPeers(...peers: BgpPeer[]): BgpConfig {
  return { ...DEFAULT_BGP_CONFIG, peers };
}

/** The field a config is refused for. */
function refusedField(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (error instanceof BgpConfigError) return error.field;
    throw error;
  }
  throw new Error("the config was accepted");
}

describe("parseBgpConfig", () => {
  test("an empty record is BGP off with the documented defaults", () => {
    expect(parseBgpConfig("{}")).toEqual({
      asNumber: 64512,
      peers: [],
      holdTimeSeconds: 90,
      keepaliveSeconds: 30,
      gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
      vpcCidrs: [],
    });
  });

  test("a hold time alone brings BIRD's keepalive of a third of it", () => {
    expect(parseBgpConfig('{"holdTimeSeconds": 9}').keepaliveSeconds).toBe(3);
    expect(parseBgpConfig('{"holdTimeSeconds": 0}').keepaliveSeconds).toBe(0);
  });

  test("a full record survives encode and parse, in canonical form", () => {
    const config = parseBgpConfig(
      JSON.stringify({
        version: 1,
        asNumber: 4200000000,
        holdTimeSeconds: 9,
        keepaliveSeconds: 3,
        gracefulRestart: { enabled: true },
        vpcCidrs: ["198.51.100.0/24", "2001:DB8:2::/64"],
        peers: [
          { name: "tor-a", address: "2001:DB8:0::1", asNumber: 65000, localAsNumber: 65101 },
          {
            name: "rr",
            address: "203.0.113.9",
            asNumber: 4200000000,
            selector: { nodes: ["node1", "node2"] },
            password: "s3cret pass!'#",
            holdTimeSeconds: 30,
            multihop: 2,
            allowLocalAs: true,
          },
          { name: "lan2", address: "198.51.100.1", asNumber: 1, selector: { cidr: "198.51.100.0/24" } },
        ],
      }),
    );
    expect(config.gracefulRestart).toEqual({ enabled: true, restartTimeSeconds: 120 });
    expect(config.vpcCidrs).toEqual(["198.51.100.0/24", "2001:db8:2::/64"]);
    expect(config.peers[0]).toEqual({
      name: "tor-a",
      address: "2001:db8::1",
      asNumber: 65000,
      localAsNumber: 65101,
    });
    expect(parseBgpConfig(encodeBgpConfig(config))).toEqual(config);
  });

  test("a field of the wrong type, a misspelt field and a newer version are named", () => {
    expect(refusedField(() => parseBgpConfig('{"asNumber": "64512"}'))).toBe("asNumber");
    expect(refusedField(() => parseBgpConfig('{"holdTime": 9}'))).toBe("holdTime");
    expect(refusedField(() => parseBgpConfig('{"version": 2}'))).toBe("version");
    expect(refusedField(() => parseBgpConfig("[]"))).toBe("(root)");
    expect(refusedField(() => parseBgpConfig("{"))).toBe("(root)");
    expect(refusedField(() => parseBgpConfig('{"peers": {}}'))).toBe("peers");
    expect(refusedField(() => parseBgpConfig('{"peers": [{"name": "a", "asNumber": 1}]}'))).toBe(
      "peers[0].address",
    );
    expect(
      refusedField(() =>
        parseBgpConfig('{"peers": [{"name": "a", "address": "192.0.2.1", "asNumber": 1, "md5": "x"}]}'),
      ),
    ).toBe("peers[0].md5");
    expect(refusedField(() => parseBgpConfig('{"gracefulRestart": {"enabled": "yes"}}'))).toBe(
      "gracefulRestart.enabled",
    );
  });

  test("the message names the field and the reason", () => {
    expect(() => parseBgpConfig('{"asNumber": 0}')).toThrow(
      "Invalid BGP config: asNumber is 0; must be a whole number from 1 to 4294967295",
    );
  });
});

describe("validateBgpConfig", () => {
  test("AS numbers are 1 to 4294967295", () => {
    expect(validateBgpConfig({ ...DEFAULT_BGP_CONFIG, asNumber: 4294967295 }).asNumber).toBe(4294967295);
    expect(refusedField(() => validateBgpConfig({ ...DEFAULT_BGP_CONFIG, asNumber: 4294967296 }))).toBe(
      "asNumber",
    );
    expect(refusedField(() => validateBgpConfig(withPeers({ ...router, asNumber: 1.5 })))).toBe(
      "peers[0].asNumber",
    );
    expect(refusedField(() => validateBgpConfig(withPeers({ ...router, localAsNumber: 0 })))).toBe(
      "peers[0].localAsNumber",
    );
  });

  test("hold time is 0 or 3..65535 with a keepalive below it", () => {
    const timers = (holdTimeSeconds: number, keepaliveSeconds: number) =>
      validateBgpConfig({ ...DEFAULT_BGP_CONFIG, holdTimeSeconds, keepaliveSeconds });
    expect(timers(3, 1).holdTimeSeconds).toBe(3);
    expect(timers(0, 0).holdTimeSeconds).toBe(0);
    expect(timers(65535, 65534).keepaliveSeconds).toBe(65534);
    expect(refusedField(() => timers(2, 1))).toBe("holdTimeSeconds");
    expect(refusedField(() => timers(65536, 1))).toBe("holdTimeSeconds");
    expect(refusedField(() => timers(9, 9))).toBe("keepaliveSeconds");
    expect(refusedField(() => timers(9, 0))).toBe("keepaliveSeconds");
    expect(refusedField(() => timers(0, 5))).toBe("keepaliveSeconds");
  });

  test("a peer's own hold time must stay above the keepalive", () => {
    expect(validateBgpConfig(withPeers({ ...router, holdTimeSeconds: 0 })).peers[0]?.holdTimeSeconds).toBe(0);
    expect(refusedField(() => validateBgpConfig(withPeers({ ...router, holdTimeSeconds: 9 })))).toBe(
      "peers[0].holdTimeSeconds",
    );
    expect(refusedField(() => validateBgpConfig(withPeers({ ...router, holdTimeSeconds: 1 })))).toBe(
      "peers[0].holdTimeSeconds",
    );
  });

  test("graceful restart time is 1..4095 (12 bits, RFC 4724)", () => {
    const gr = (restartTimeSeconds: number) =>
      validateBgpConfig({ ...DEFAULT_BGP_CONFIG, gracefulRestart: { enabled: true, restartTimeSeconds } });
    expect(gr(4095).gracefulRestart.restartTimeSeconds).toBe(4095);
    expect(refusedField(() => gr(4096))).toBe("gracefulRestart.restartTimeSeconds");
    expect(refusedField(() => gr(0))).toBe("gracefulRestart.restartTimeSeconds");
  });

  test("peer names are what BIRD protocol names can be built from", () => {
    for (const name of ["lan1", "router-lan-1", "a", "0x"])
      expect(validateBgpConfig(withPeers({ ...router, name })).peers[0]?.name).toBe(name);
    for (const name of ["", "Lan1", "lan_1", "-a", "a-", 'a"; }', "a b", "x".repeat(33)])
      expect(refusedField(() => validateBgpConfig(withPeers({ ...router, name })))).toBe("peers[0].name");
  });

  test("peer addresses are unicast addresses reachable without naming an interface", () => {
    for (const address of [
      "192.0.2.1/32",
      "192.0.2.300",
      "0.0.0.0",
      "127.0.0.1",
      "224.0.0.5",
      "255.255.255.255",
      "::",
      "::1",
      "ff02::2",
      "fe80::1",
      "::ffff:192.0.2.1",
      "fe80::1%eth0",
      '192.0.2.1"',
    ])
      expect(refusedField(() => validateBgpConfig(withPeers({ ...router, address })))).toBe(
        "peers[0].address",
      );
    expect(validateBgpConfig(withPeers({ ...router, address: "2001:DB8::0:1" })).peers[0]?.address).toBe(
      "2001:db8::1",
    );
  });

  test("two peers may not share a name or an address", () => {
    const other: BgpPeer = { name: "lan2", address: "198.51.100.1", asNumber: 64512 };
    expect(validateBgpConfig(withPeers(router, other)).peers).toHaveLength(2);
    expect(refusedField(() => validateBgpConfig(withPeers(router, { ...other, name: router.name })))).toBe(
      "peers[1]",
    );
    const v6 = { ...router, address: "2001:db8::1" };
    expect(() => validateBgpConfig(withPeers(v6, { ...other, address: "2001:DB8:0::1" }))).toThrow(
      "peers[1] repeats the address 2001:db8::1 of peers[0]",
    );
  });

  test("passwords are printable ASCII BIRD can quote as they are", () => {
    const pw = (password: string) => validateBgpConfig(withPeers({ ...router, password }));
    expect(pw("a b~!'#$%{};").peers[0]?.password).toBe("a b~!'#$%{};");
    expect(pw("x".repeat(80)).peers[0]?.password).toHaveLength(80);
    for (const password of ["", 'a"b', "a\\b", "a\nb", "a\tb", "pässword", "x".repeat(81)])
      expect(refusedField(() => pw(password))).toBe("peers[0].password");
  });

  test("a selector gives a CIDR or node names, not both", () => {
    const sel = (selector: BgpPeer["selector"]) => validateBgpConfig(withPeers({ ...router, selector }));
    expect(sel({ cidr: "2001:DB8:1::/64" }).peers[0]?.selector).toEqual({ cidr: "2001:db8:1::/64" });
    expect(sel({ nodes: ["node1"] }).peers[0]?.selector).toEqual({ nodes: ["node1"] });
    expect(refusedField(() => sel({}))).toBe("peers[0].selector");
    expect(refusedField(() => sel({ cidr: "10.0.0.0/8", nodes: ["a"] }))).toBe("peers[0].selector");
    expect(refusedField(() => sel({ cidr: "10.0.0.1/8" }))).toBe("peers[0].selector.cidr");
    expect(refusedField(() => sel({ nodes: [] }))).toBe("peers[0].selector.nodes");
    expect(refusedField(() => sel({ nodes: ["Node_1"] }))).toBe("peers[0].selector.nodes[0]");
    expect(refusedField(() => sel({ nodes: ["a", "a"] }))).toBe("peers[0].selector.nodes[1]");
  });

  test("multihop is 1..255 and VPC CIDRs are exact prefixes listed once", () => {
    expect(refusedField(() => validateBgpConfig(withPeers({ ...router, multihop: 256 })))).toBe(
      "peers[0].multihop",
    );
    const vpc = (vpcCidrs: string[]) => validateBgpConfig({ ...DEFAULT_BGP_CONFIG, vpcCidrs });
    expect(vpc(["10.1.0.0/16", "fd00::/8"]).vpcCidrs).toEqual(["10.1.0.0/16", "fd00::/8"]);
    expect(() => vpc(["10.1.0.1/16"])).toThrow('vpcCidrs[0] "10.1.0.1/16": host bits are set');
    expect(refusedField(() => vpc(["10.1.0.0"]))).toBe("vpcCidrs[0]");
    expect(refusedField(() => vpc(["10.1.0.0/16", "10.1.0.0/16"]))).toBe("vpcCidrs[1]");
  });
});
