/**
 * Golden tests: each case renders to exactly fixtures/lab-router-bird/NAME.conf, and BIRD itself
 * (`bird -p`, parse only) accepts every golden when it is installed. After an intended change of
 * the rendering, regenerate them and review the diff:
 *
 *   UPDATE_GOLDEN=1 node_modules/.bin/bun test src/lab/lab-router-bird.test.ts
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BgpConfig, validateBgpConfig } from "../cluster/bgp-config.ts";
import { BIRD_BINARY, checkBirdConfig } from "../linux/bird-check.ts";
import {
  LAB_ROUTER_FALLBACK_ID,
  type LabRouterBirdInput,
  labBgpConfig,
  labRouterBirdInput,
  renderLabRouterBird,
} from "./lab-router-bird.ts";
import { defaultTopology } from "./topology.ts";

const GOLDEN_DIR = join(import.meta.dir, "fixtures", "lab-router-bird");
const update = process.env.UPDATE_GOLDEN === "1";

const LAB_BGP: BgpConfig = {
  asNumber: 64512,
  peers: [
    { name: "router-lan1", address: "192.0.2.1", asNumber: 64512 },
    { name: "router-lan2", address: "198.51.100.1", asNumber: 64512 },
  ],
  holdTimeSeconds: 9,
  keepaliveSeconds: 3,
  gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
  vpcCidrs: ["192.0.2.0/24", "198.51.100.0/24"],
};

const CASES: Record<string, LabRouterBirdInput> = {
  ipv4: labRouterBirdInput(defaultTopology(3), LAB_BGP, ["10.244.0.0/16"]),
  dual: labRouterBirdInput(defaultTopology(3, [4, 6]), LAB_BGP, ["10.244.0.0/16", "fd00:10:244::/56"]),
  ipv6: labRouterBirdInput(defaultTopology(3, [6]), LAB_BGP, ["fd00:10:244::/56"]),
  "password-graceful-restart": labRouterBirdInput(
    defaultTopology(2),
    {
      ...LAB_BGP,
      peers: LAB_BGP.peers.map((p) => ({ ...p, password: "s3cr3t pass!" })),
      gracefulRestart: { enabled: true, restartTimeSeconds: 120 },
    },
    ["10.244.0.0/16"],
  ),
  ebgp: labRouterBirdInput(
    defaultTopology(3),
    { ...LAB_BGP, peers: LAB_BGP.peers.map((p) => ({ ...p, asNumber: 64500 })) },
    ["10.244.0.0/16"],
  ),
};

describe("golden lab router configs", () => {
  for (const [name, input] of Object.entries(CASES)) {
    test(name, () => {
      const text = renderLabRouterBird(input);
      const path = join(GOLDEN_DIR, `${name}.conf`);
      if (update) writeFileSync(path, text);
      expect(text).toBe(readFileSync(path, "utf8"));
    });
  }

  test("every golden file belongs to a case", () => {
    const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith(".conf"));
    expect(files.sort()).toEqual(
      Object.keys(CASES)
        .map((n) => `${n}.conf`)
        .sort(),
    );
  });

  test.skipIf(!existsSync(BIRD_BINARY))("BIRD accepts every golden (bird -p)", () => {
    for (const name of Object.keys(CASES)) checkBirdConfig(join(GOLDEN_DIR, `${name}.conf`));
  });
});

describe("labRouterBirdInput", () => {
  test("listens on the segments that hold nodes, not on the external one", () => {
    expect(CASES.ipv4?.segments).toEqual([
      { name: "lan1", cidrs: ["192.0.2.0/24"] },
      { name: "lan2", cidrs: ["198.51.100.0/24"] },
    ]);
    expect(labRouterBirdInput(defaultTopology(2), LAB_BGP, []).segments.map((s) => s.name)).toEqual(["lan1"]);
  });

  test("router id: its first IPv4 address, a fixed one without IPv4", () => {
    expect(CASES.dual?.routerId).toBe("192.0.2.1");
    expect(CASES.ipv6?.routerId).toBe(LAB_ROUTER_FALLBACK_ID);
  });

  test("iBGP with the nodes as route-reflector clients; eBGP when the peers' AS differs", () => {
    const ibgp = renderLabRouterBird(CASES.ipv4 as LabRouterBirdInput);
    expect(ibgp).toContain("  local as 64512;\n  rr client;\n");
    expect(ibgp).toContain("  neighbor range 192.0.2.0/24 internal;\n");
    const ebgp = renderLabRouterBird(CASES.ebgp as LabRouterBirdInput);
    expect(ebgp).toContain("  local as 64500;\n");
    expect(ebgp).not.toContain("rr client");
    expect(ebgp).toContain("  neighbor range 198.51.100.0/24 as 64512;\n");
  });

  test("the kernel gets BGP routes without merge paths; pod routes only are accepted", () => {
    const text = renderLabRouterBird(CASES.dual as LabRouterBirdInput);
    expect(text).not.toContain("merge paths on");
    expect(text).toContain(
      "protocol kernel k6 { scan time 10; ipv6 { import none; export where source = RTS_BGP; }; }",
    );
    expect(text).toContain(
      "  ipv4 { import where net ~ [ 10.244.0.0/16+ ]; export where source = RTS_BGP; };",
    );
    // An IPv6 session carries IPv6 routes only.
    expect(text).toMatch(
      /protocol bgp lan2_v6 from lab_nodes \{\n[^}]*dynamic name "lan2_v6_";\n {2}ipv6 \{[^\n]*\n\}/,
    );
  });
});

describe("labBgpConfig", () => {
  test("a peer per node segment (the router's primary address there), hold 9, the node segments as VPC", () => {
    const bgp = labBgpConfig(defaultTopology(3, [4, 6]));
    expect(validateBgpConfig(bgp)).toEqual(bgp);
    expect(bgp).toEqual({
      asNumber: 64512,
      peers: [
        { name: "router-lan1", address: "192.0.2.1", asNumber: 64512 },
        { name: "router-lan2", address: "198.51.100.1", asNumber: 64512 },
      ],
      holdTimeSeconds: 9,
      keepaliveSeconds: 3,
      gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
      vpcCidrs: ["192.0.2.0/24", "2001:db8:1::/64", "198.51.100.0/24", "2001:db8:2::/64"],
    });
    expect(labBgpConfig(defaultTopology(1, [6])).peers).toEqual([
      { name: "router-lan1", address: "2001:db8:1::1", asNumber: 64512 },
    ]);
  });

  test("password, graceful restart and eBGP carry over to the router's config", () => {
    const bgp = labBgpConfig(defaultTopology(3), {
      password: "pw",
      gracefulRestartSeconds: 60,
      routerAsNumber: 64500,
    });
    expect(validateBgpConfig(bgp)).toEqual(bgp);
    const input = labRouterBirdInput(defaultTopology(3), bgp, ["10.244.0.0/16"]);
    expect(input).toMatchObject({
      asNumber: 64500,
      nodeAsNumber: 64512,
      password: "pw",
      gracefulRestartSeconds: 60,
    });
  });
});

describe("renderLabRouterBird refuses what BIRD would misread", () => {
  const base = CASES.ipv4 as LabRouterBirdInput;
  const refused: [string, Partial<LabRouterBirdInput>, string][] = [
    ["a password with a quote", { password: 'a"; export all; #' }, "password must be"],
    ["a password with a backslash", { password: "a\\b" }, "password must be"],
    ["a password with a newline", { password: "a\nb" }, "password must be"],
    ["an empty password", { password: "" }, "password must be"],
    ["a password longer than TCP MD5 keys", { password: "x".repeat(81) }, "password must be"],
    [
      "a segment name BIRD would parse",
      { segments: [{ name: "lan1; }", cidrs: ["192.0.2.0/24"] }] },
      "segments[0].name",
    ],
    [
      "a segment twice",
      { segments: [...base.segments, { name: "lan1", cidrs: ["10.1.0.0/24"] }] },
      "used twice",
    ],
    ["no segment", { segments: [] }, "segments are empty"],
    [
      "a range that is not one",
      { segments: [{ name: "lan1", cidrs: ["192.0.2.0/24 internal"] }] },
      "not a network range",
    ],
    [
      "a range with host bits",
      { segments: [{ name: "lan1", cidrs: ["192.0.2.1/24"] }] },
      "not a network range",
    ],
    ["an IPv6 router id", { routerId: "2001:db8::1" }, "routerId"],
    ["AS 0", { asNumber: 0 }, "asNumber 0 must be an AS number"],
    ["an AS past 32 bits", { nodeAsNumber: 4294967296 }, "nodeAsNumber"],
    ["a hold time of 2 s", { holdTimeSeconds: 2 }, "holdTimeSeconds 2"],
    ["a keepalive not below the hold time", { keepaliveSeconds: 9 }, "keepaliveSeconds 9"],
    ["a restart time past 4095 s", { gracefulRestartSeconds: 4096 }, "gracefulRestartSeconds"],
    ["a pod range that is not one", { podCidrs: ["10.244.0.0/16; export all"] }, "podCidrs"],
  ];
  for (const [what, change, message] of refused) {
    test(what, () => {
      expect(() => renderLabRouterBird({ ...base, ...change })).toThrow(message);
    });
  }

  test("a password with spaces and symbols is kept as written", () => {
    expect(renderLabRouterBird({ ...base, password: "s3cr3t pass!#$" })).toContain(
      '  password "s3cr3t pass!#$";\n',
    );
  });
});
