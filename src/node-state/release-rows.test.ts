import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { useTempNodeState } from "../../test/support/temp-node-state.ts";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import { formatIP } from "../ipnet/address.ts";
import { type PodIdentity, RELEASES_KEPT } from "./node-state.ts";
import { RELEASES_TRIM_EVERY } from "./release-rows.ts";

const t = useTempNodeState("podnet-release-rows");
const open = () => t.open();

const dual = buildRangeSets([[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]]);
const wide = buildRangeSets([[{ subnet: "10.24.0.0/16" }]]);
const key = (containerId: string, network = "podnet"): AttachmentKey => ({
  network,
  containerId,
  ifname: "eth0",
});
const web: PodIdentity = { namespace: "shop", name: "web-1", labels: {}, netns: "/var/run/netns/cni-1" };

describe("the pod's netns and the releases table", () => {
  test("a pod row keeps the netns path the runtime gave", () => {
    const state = open();
    state.allocate(key("c1"), dual, [], web);
    state.allocate(key("c2"), dual, [], { namespace: "shop", name: "web-2", labels: {} });
    const rows = state.listPods("podnet").rows;
    expect(rows.map((r) => [r.containerId, r.netns])).toEqual([
      ["c1", "/var/run/netns/cni-1"],
      ["c2", undefined],
    ]);
    const withTimes = state.listPods("podnet", { withRecordedAt: true }).rows;
    expect(withTimes[0]?.recordedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  test("releasing an attachment records each address with its pod, newest first", () => {
    const state = open();
    const before = Date.now();
    const held = state.allocate(key("c1"), dual, [], web).allocations.map((a) => formatIP(a.ip));
    state.allocate(key("c2"), dual, []);
    state.release(key("c1"));
    state.release(key("c2"));
    state.release(key("c2")); // a repeated DEL records nothing more
    const releases = state.listReleases("podnet");
    expect(releases.map((r) => [r.containerId, r.ip, r.namespace, r.name])).toEqual([
      ["c2", "fd00:22::3", undefined, undefined],
      ["c2", "10.22.0.3", undefined, undefined],
      ["c1", held[1], "shop", "web-1"],
      ["c1", held[0], "shop", "web-1"],
    ]);
    expect(releases[0]?.releasedAt).toBeGreaterThanOrEqual(before);
    expect(state.listReleases("other")).toEqual([]);
    expect(state.listReleases()).toHaveLength(4);
  });

  test(`keeps the newest ${RELEASES_KEPT} releases per network`, () => {
    const state = open();
    state.allocate(key("keep", "other"), wide, []);
    state.release(key("keep", "other"));
    for (let i = 0; i < RELEASES_KEPT + 10; i++) {
      state.allocate(key(`c${i}`), wide, []);
      state.release(key(`c${i}`));
    }
    const releases = state.listReleases("podnet");
    expect(releases).toHaveLength(RELEASES_KEPT);
    expect(releases[0]?.containerId).toBe(`c${RELEASES_KEPT + 9}`);
    expect(releases.at(-1)?.containerId).toBe("c10");
    expect(state.listReleases("other")).toHaveLength(1);
  });

  test("a database of schema version 2 gains pods.netns and the releases table, keeping its rows", () => {
    mkdirSync(t.dir, { recursive: true });
    const v2 = new Database(join(t.dir, "ipam.db"));
    v2.run(
      "CREATE TABLE allocations (network TEXT NOT NULL, ip TEXT NOT NULL, container_id TEXT NOT NULL, " +
        "ifname TEXT NOT NULL, set_index INTEGER NOT NULL, subnet TEXT NOT NULL, gateway TEXT, " +
        "allocated_at INTEGER NOT NULL, PRIMARY KEY (network, ip))",
    );
    v2.run(
      "CREATE TABLE last_reserved (network TEXT NOT NULL, range_set TEXT NOT NULL, ip TEXT NOT NULL, PRIMARY KEY (network, range_set))",
    );
    v2.run("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    v2.run(
      "CREATE TABLE pods (network TEXT NOT NULL, container_id TEXT NOT NULL, ifname TEXT NOT NULL, " +
        "namespace TEXT NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, ips TEXT NOT NULL, " +
        "recorded_at INTEGER NOT NULL, PRIMARY KEY (network, container_id, ifname))",
    );
    v2.run(
      "INSERT INTO allocations VALUES ('podnet', '10.22.0.2', 'old', 'eth0', 0, '10.22.0.0/24', '10.22.0.1', 1)",
    );
    v2.run(`INSERT INTO pods VALUES ('podnet', 'old', 'eth0', 'shop', 'old-1', '{}', '["10.22.0.2"]', 1)`);
    v2.run("PRAGMA user_version = 2");
    v2.close();
    const state = open();
    expect(state.listPods("podnet").rows).toEqual([
      { ...key("old"), namespace: "shop", name: "old-1", labels: {}, ips: ["10.22.0.2"] },
    ]);
    state.allocate(key("new"), dual, [], web);
    expect(state.listPods("podnet").rows.find((r) => r.containerId === "new")?.netns).toBe(web.netns);
    state.release(key("old"));
    expect(state.listReleases().map((r) => [r.ip, r.name])).toEqual([["10.22.0.2", "old-1"]]);
    const check = new Database(join(t.dir, "ipam.db"));
    // Schemas 3 and 4 only add: the file still says "readable by version 2", and records that it is 4.
    expect(check.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(2);
    expect(
      check.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'schema_version'").get()?.value,
    ).toBe("4");
    check.close();
  });

  test("after an upgrade, a version 2 binary (which refuses user_version > 2) still opens the file", () => {
    open().close();
    const db = new Database(join(t.dir, "ipam.db"));
    const version = db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
    db.close();
    // The check version 2 code makes (state-db.ts at d6f88c8: `version > SCHEMA_VERSION` with 2).
    expect(version > 2).toBe(false);
  });

  test("a database written by the first schema-3 code (user_version 3, no meta row) is brought to the new scheme", () => {
    open().close();
    const db = new Database(join(t.dir, "ipam.db"));
    db.run("DELETE FROM meta WHERE key = 'schema_version'");
    db.run("PRAGMA user_version = 3");
    db.close();
    open().close();
    const check = new Database(join(t.dir, "ipam.db"));
    expect(check.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(2);
    check.close();
  });

  test("the table is trimmed only now and then, and never shows more than RELEASES_KEPT", () => {
    const state = open();
    for (let i = 0; i < RELEASES_KEPT + RELEASES_TRIM_EVERY - 1; i++) {
      state.allocate(key(`t${i}`), wide, []);
      state.release(key(`t${i}`));
    }
    expect(state.listReleases("podnet")).toHaveLength(RELEASES_KEPT);
    expect(state.listReleases()).toHaveLength(RELEASES_KEPT);
    const db = new Database(join(t.dir, "ipam.db"));
    const rows = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM releases").get()?.n ?? 0;
    db.close();
    expect(rows).toBeGreaterThanOrEqual(RELEASES_KEPT);
    expect(rows).toBeLessThanOrEqual(RELEASES_KEPT + RELEASES_TRIM_EVERY);
  });

  test("addresses an attachment gives up because they no longer fit the config are recorded as released", () => {
    const state = open();
    const old = state.allocate(key("moved"), wide, []).allocations.map((a) => formatIP(a.ip));
    state.allocate(key("moved"), buildRangeSets([[{ subnet: "10.99.0.0/24" }]]), []);
    expect(state.listReleases("podnet").map((r) => [r.containerId, r.ip])).toEqual([["moved", old[0] ?? ""]]);
    expect(old).toHaveLength(1);
  });
});
