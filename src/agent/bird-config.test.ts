/**
 * Golden tests: each case of bird-config-cases.ts renders to exactly fixtures/bird/NAME.conf,
 * and every golden parses in the real BIRD (`bird -p -c`, when /usr/sbin/bird exists). After an
 * intended change, review the diff and regenerate with
 *   UPDATE_GOLDEN=1 node_modules/.bin/bun test src/agent/bird-config.test.ts
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseIP } from "../ipnet/address.ts";
import { BirdConfigRenderError, renderBirdConfig, sessionsToRestart } from "./bird-config.ts";
import { BIRD_CASES } from "./bird-config-cases.ts";

const DIR = join(import.meta.dir, "fixtures/bird");
const BIRD = "/usr/sbin/bird";
const update = process.env.UPDATE_GOLDEN === "1";
const base = BIRD_CASES["ipv4-ibgp"] ?? (undefined as never);
const session = base.sessions[0] ?? (undefined as never);

/** `bird -p` only parses the file and exits: it starts no daemon and opens no socket. */
function birdParse(text: string): { ok: boolean; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "podnet-bird-p-"));
  try {
    writeFileSync(join(dir, "bird.conf"), text);
    const r = Bun.spawnSync([BIRD, "-p", "-c", join(dir, "bird.conf")]);
    return { ok: r.exitCode === 0, stderr: r.stderr.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("golden BIRD configs", () => {
  for (const [name, input] of Object.entries(BIRD_CASES)) {
    test(name, () => {
      const text = renderBirdConfig(input);
      const path = join(DIR, `${name}.conf`);
      if (update) writeFileSync(path, text);
      expect(text).toBe(readFileSync(path, "utf8"));
    });
  }

  test("every golden file belongs to a case", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".conf"));
    expect(files.sort()).toEqual(
      Object.keys(BIRD_CASES)
        .map((n) => `${n}.conf`)
        .sort(),
    );
  });

  test.skipIf(!existsSync(BIRD))("every golden parses in BIRD (bird -p)", () => {
    for (const file of readdirSync(DIR).filter((f) => f.endsWith(".conf"))) {
      const r = birdParse(readFileSync(join(DIR, file), "utf8"));
      expect({ file, ...r }).toEqual({ file, ok: true, stderr: "" });
    }
  });

  test.skipIf(!existsSync(BIRD))("the bird -p check can fail: a broken config is refused", () => {
    const r = birdParse(renderBirdConfig(base).replace("reject;\n}", "reject\n}"));
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/bird\.conf:\d+:\d+/);
  });
});

describe("renderBirdConfig", () => {
  const text = renderBirdConfig(base);

  test("announces the node's block as a blackhole and exports only its static protocol", () => {
    expect(text).toContain("protocol static podnet_blocks4 {\n  ipv4;\n  route 10.244.1.0/24 blackhole;\n}");
    expect(text).toContain(
      'filter podnet_export4 {\n  if proto = "podnet_blocks4" then accept;\n  reject;\n}',
    );
  });

  test("imports block-sized and longer cluster routes, never its own block", () => {
    expect(text).toContain("if net ~ [ 10.244.1.0/24+ ] then reject;");
    expect(text).toContain("if net ~ [ 10.244.0.0/16{24,32} ] then accept;");
  });

  test("puts only BGP routes in the kernel and learns the default route", () => {
    expect(text).toContain("import where net = 0.0.0.0/0; export where source = RTS_BGP;");
    expect(text).not.toContain("ipv6");
  });

  test("peers from the node IP on the peer's segment with the lab timers", () => {
    expect(text).toContain(
      "protocol bgp peer_router_lan1 from podnet_peer {\n  local 192.0.2.11 as 64512;\n  neighbor 192.0.2.1 as 64512;\n  hold time 9;\n  keepalive time 3;",
    );
    expect(text).toContain("connect delay time 0;");
  });

  test("refuses a password BIRD's string syntax would interpret", () => {
    for (const password of ['a"; export all; #', "a\\b", "a\nb", ""]) {
      const input = { ...base, sessions: [{ ...session, password }] };
      expect(() => renderBirdConfig(input)).toThrow(BirdConfigRenderError);
    }
  });

  test("does not print a refused password", () => {
    const input = { ...base, sessions: [{ ...session, password: 'secret"' }] };
    expect(() => renderBirdConfig(input)).toThrow(/password "\(hidden\)"/);
  });

  test("refuses interface names, router ids and protocol names outside their syntax", () => {
    expect(() => renderBirdConfig({ ...base, uplink: 'eth0"; }' })).toThrow(/uplink/);
    expect(() => renderBirdConfig({ ...base, uplink: "eth*" })).toThrow(/uplink/);
    expect(() => renderBirdConfig({ ...base, routerId: "0.0.0.0" })).toThrow(/router id/);
    expect(() => renderBirdConfig({ ...base, routerId: "2001:db8::1" })).toThrow(/router id/);
    expect(() => renderBirdConfig({ ...base, sessions: [{ ...session, protocol: "peer_x { }" }] })).toThrow(
      /protocol name/,
    );
  });

  test("refuses timers BGP does not allow", () => {
    expect(() => renderBirdConfig({ ...base, sessions: [{ ...session, holdTimeSeconds: 2 }] })).toThrow(
      /hold time/,
    );
    expect(() => renderBirdConfig({ ...base, sessions: [{ ...session, keepaliveSeconds: 9 }] })).toThrow(
      /keepalive/,
    );
  });

  test("refuses a session of a family the cluster has no pods in", () => {
    const v6 = { ...session, families: [6 as const] };
    expect(() => renderBirdConfig({ ...base, sessions: [v6] })).toThrow(/ipv6/);
  });

  test("refuses a local address of the other family", () => {
    const s = { ...session, localAddress: parseIP("2001:db8:1::11") };
    expect(() => renderBirdConfig({ ...base, sessions: [s] })).toThrow(/local address/);
  });
});

describe("sessionsToRestart", () => {
  const dual = { ...session, families: [4 as const, 6 as const], nextHop6: parseIP("2001:db8:1::11") };
  const moved = { ...dual, nextHop6: parseIP("2001:db8:1::51") };

  test("a changed IPv6 next hop restarts its session (a reload keeps the old one)", () => {
    expect(sessionsToRestart([dual], [moved])).toEqual(["peer_router_lan1"]);
  });

  test("nothing when the next hop is the same, or the session is new", () => {
    expect(sessionsToRestart([dual], [{ ...dual, nextHop6: parseIP("2001:db8:1:0::11") }])).toEqual([]);
    expect(sessionsToRestart([], [moved])).toEqual([]);
  });

  test("nothing when a session option changed too: configure restarts that session itself", () => {
    expect(sessionsToRestart([dual], [{ ...moved, localAddress: parseIP("192.0.2.51") }])).toEqual([]);
    expect(sessionsToRestart([dual], [{ ...moved, holdTimeSeconds: 30 }])).toEqual([]);
    expect(sessionsToRestart([dual], [{ ...moved, password: "s3cret" }])).toEqual([]);
  });

  test("an IPv6 next hop that appears or goes restarts the session; a channel added or removed does not", () => {
    const { nextHop6: _, ...withoutHop } = dual;
    expect(sessionsToRestart([withoutHop], [dual])).toEqual(["peer_router_lan1"]);
    expect(sessionsToRestart([dual], [withoutHop])).toEqual(["peer_router_lan1"]);
    expect(sessionsToRestart([session], [dual])).toEqual([]);
  });
});
