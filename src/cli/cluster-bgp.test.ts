import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { readBgpConfig } from "../cluster/bgp-config-store.ts";
import { putBgpStatusRecord } from "../cluster/bgp-status-records.ts";
import { BGP_KEY } from "../cluster/keys.ts";
import { openStore } from "../store/open-store.ts";
import { parseArgs, UsageError } from "./args.ts";
import { clusterBgpCommand } from "./cluster-bgp.ts";
import { PasswordFileError, peerFromArgs, settingsChangeFromArgs } from "./cluster-bgp-args.ts";
import { runCli } from "./run-cli.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function datastore(): string {
  const dir = mkdtempSync(`${tmpdir()}/podnet-bgp-cli-`);
  dirs.push(dir);
  return `sqlite:${dir}/cluster.db`;
}

/** Runs the command and returns what it printed. */
async function run(argv: string[], files: Record<string, string> = {}): Promise<string> {
  const log = spyOn(console, "log").mockImplementation(() => {});
  try {
    const readFile = (path: string) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
      return text;
    };
    expect(await clusterBgpCommand(argv, readFile)).toBe(0);
    return log.mock.calls.map((c) => c.join(" ")).join("\n");
  } finally {
    log.mockRestore();
  }
}

async function stored(spec: string): Promise<string | undefined> {
  const store = await openStore(spec);
  try {
    return (await store.get(BGP_KEY))?.value;
  } finally {
    await store.close();
  }
}

describe("flags", () => {
  const args = (a: string[]) => parseArgs(a, ["reset-vpc-cidrs", "allow-local-as"]);

  test("set takes whole numbers, on/off and a list of VPC CIDRs", () => {
    expect(
      settingsChangeFromArgs(
        args(["--hold-time", "9", "--graceful-restart", "on", "--vpc-cidr", "a", "--vpc-cidr", "b"]),
      ),
    ).toEqual({
      asNumber: undefined,
      holdTimeSeconds: 9,
      keepaliveSeconds: undefined,
      gracefulRestart: true,
      restartTimeSeconds: undefined,
      vpcCidrs: ["a", "b"],
    });
    expect(settingsChangeFromArgs(args(["--reset-vpc-cidrs"])).vpcCidrs).toEqual([]);
    expect(() => settingsChangeFromArgs(args([]))).toThrow(UsageError);
    expect(() => settingsChangeFromArgs(args(["--as", "-1"]))).toThrow("--as must be a whole number");
    expect(() => settingsChangeFromArgs(args(["--as", "1e3"]))).toThrow(UsageError);
    expect(() => settingsChangeFromArgs(args(["--graceful-restart", "yes"]))).toThrow("on or off");
  });

  test("add-peer reads the password file without its line break", () => {
    const peer = peerFromArgs(
      args([
        "rr",
        "--address",
        "203.0.113.9",
        "--as",
        "65000",
        "--nodes",
        "a,b",
        "--password-file",
        "/pw",
        "--allow-local-as",
      ]),
      () => "s3cret\n",
    );
    expect(peer).toEqual({
      name: "rr",
      address: "203.0.113.9",
      asNumber: 65000,
      selector: { nodes: ["a", "b"] },
      password: "s3cret",
      allowLocalAs: true,
    });
    const missing = () => {
      throw new Error("ENOENT");
    };
    expect(() =>
      peerFromArgs(args(["rr", "--address", "x", "--as", "1", "--password-file", "/nope"]), missing),
    ).toThrow(new PasswordFileError("/nope", "ENOENT"));
    expect(() =>
      peerFromArgs(args(["rr", "--address", "x", "--as", "1", "--password-file", "/e"]), () => "\n"),
    ).toThrow("it is empty");
    expect(() => peerFromArgs(args(["rr", "--as", "1"]), missing)).toThrow("--address");
    expect(() =>
      peerFromArgs(args(["rr", "--address", "x", "--as", "1", "--segment", "c", "--nodes", "a"]), missing),
    ).toThrow("exclude each other");
  });
});

describe("podnet cluster bgp", () => {
  test("--help prints the usage", async () => {
    expect(await run(["add-peer", "--help"])).toContain("podnet cluster bgp add-peer NAME --datastore SPEC");
  });

  test("show on a fresh datastore says BGP is not configured", async () => {
    const spec = datastore();
    expect(await run(["show", "--datastore", spec])).toContain("BGP is not configured");
    expect(await run(["show", "--datastore", spec])).toContain("No node has published BGP sessions.");
    expect(JSON.parse(await run(["show", "--datastore", spec, "--json"]))).toEqual({
      config: null,
      status: [],
      invalid: [],
    });
  });

  test("set, add-peer, show and remove-peer edit the stored record", async () => {
    const spec = datastore();
    await run(["set", "--datastore", spec, "--hold-time", "9", "--vpc-cidr", "198.51.100.0/24"]);
    const added = await run(
      [
        "add-peer",
        "lan1",
        "--datastore",
        spec,
        "--address",
        "192.0.2.1",
        "--as",
        "64512",
        "--password-file",
        "/pw",
      ],
      { "/pw": "top secret\n" },
    );
    expect(added).toContain("BGP peer lan1 added.");
    await run([
      "add-peer",
      "tor",
      "--datastore",
      spec,
      "--address",
      "2001:DB8::1",
      "--as",
      "65000",
      "--segment",
      "2001:db8::/64",
    ]);
    const store = await openStore(spec);
    try {
      expect(await readBgpConfig(store)).toEqual({
        asNumber: 64512,
        holdTimeSeconds: 9,
        keepaliveSeconds: 3,
        gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
        vpcCidrs: ["198.51.100.0/24"],
        peers: [
          { name: "lan1", address: "192.0.2.1", asNumber: 64512, password: "top secret" },
          { name: "tor", address: "2001:db8::1", asNumber: 65000, selector: { cidr: "2001:db8::/64" } },
        ],
      });
    } finally {
      await store.close();
    }
    const shown = await run(["show", "--datastore", spec]);
    expect(shown).toContain("hold time:        9 s");
    expect(shown).toMatch(
      /lan1\s+192\.0\.2\.1\s+64512\s+64512\s+iBGP\s+node IP on the peer's subnet\s+-\s+yes/,
    );
    expect(shown).toMatch(/tor\s+2001:db8::1\s+65000\s+64512\s+eBGP\s+node IP in 2001:db8::\/64/);
    expect(shown).not.toContain("top secret");
    const json = await run(["show", "--datastore", spec, "--json"]);
    expect(json).not.toContain("top secret");
    expect(JSON.parse(json).config.peers[0].password).toBe("(hidden)");
    await run(["remove-peer", "lan1", "--datastore", spec]);
    expect(JSON.parse((await stored(spec)) ?? "").peers.map((p: { name: string }) => p.name)).toEqual([
      "tor",
    ]);
  });

  test("show lists each node's published sessions, control characters escaped", async () => {
    const spec = datastore();
    const store = await openStore(spec);
    try {
      const since = new Date(Date.now() - 180_000).toISOString();
      await putBgpStatusRecord(store, {
        node: "node1",
        updatedAt: since,
        running: true,
        routerId: "192.0.2.11",
        announced: ["10.244.1.0/24"],
        sessions: [
          {
            peer: "lan1",
            neighbor: "192.0.2.1",
            localAsNumber: 64512,
            asNumber: 64512,
            state: "Established",
            since,
            received: 2,
            advertised: 1,
          },
        ],
      });
      await putBgpStatusRecord(store, {
        node: "node2",
        updatedAt: since,
        running: false,
        announced: [],
        sessions: [],
        lastError: "bird: cannot start\u001b[2J",
      });
      await store.put("/podnet/bgp-status/node3", "{}");
    } finally {
      await store.close();
    }
    const shown = await run(["show", "--datastore", spec]);
    expect(shown).toMatch(/node1\s+lan1\s+192\.0\.2\.1\s+64512\s+64512\s+Established\s+3m ago\s+2\s+1/);
    expect(shown).toMatch(/node2\s+-\s+-\s+-\s+-\s+BIRD not running/);
    expect(shown).toContain("node2: bird: cannot start\\x1b[2J");
    expect(shown).toContain(
      "Unreadable status records:\n  BGP status record /podnet/bgp-status/node3: node is missing",
    );
    const json = JSON.parse(await run(["show", "--datastore", spec, "--json"]));
    expect(json.status.map((r: { node: string }) => r.node)).toEqual(["node1", "node2"]);
  });

  test("a refused change leaves the record as it was and says why", async () => {
    const spec = datastore();
    await run(["add-peer", "lan1", "--datastore", spec, "--address", "192.0.2.1", "--as", "64512"]);
    const before = await stored(spec);
    const err = spyOn(console, "error").mockImplementation(() => {});
    try {
      const cases: [string[], number, string][] = [
        [["add-peer", "lan1", "--address", "192.0.2.2", "--as", "1"], 1, 'BGP peer "lan1" exists already'],
        [["add-peer", "x", "--address", "192.0.2.2", "--as", "0"], 1, "peers[1].asNumber is 0"],
        [["add-peer", "y", "--address", "fe80::1", "--as", "1"], 1, "peers[1].address"],
        [["set", "--hold-time", "2"], 1, "holdTimeSeconds is 2"],
        [["remove-peer", "lan9"], 1, 'No BGP peer named "lan9" (peers: lan1)'],
        [["set", "--password", "x"], 2, "unknown option --password"],
        [["frobnicate"], 2, "usage: podnet cluster bgp"],
      ];
      for (const [argv, code, message] of cases) {
        err.mockClear();
        expect(await runCli(["cluster", "bgp", ...argv, "--datastore", spec])).toBe(code);
        expect(err.mock.calls.map((c) => c.join(" ")).join("\n")).toContain(message);
      }
    } finally {
      err.mockRestore();
    }
    expect(await stored(spec)).toBe(before);
  });
});
