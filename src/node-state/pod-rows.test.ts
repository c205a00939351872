import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { useTempNodeState } from "../../test/support/temp-node-state.ts";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { AddressExhaustedError } from "../ipam/errors.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import { formatIP } from "../ipnet/address.ts";
import { type PodIdentity, parseReadinessCheck, type ReadinessCheck } from "./node-state.ts";

const t = useTempNodeState("podnet-pod-rows");
const open = (dataDir?: string) => t.open(dataDir);

const dual = buildRangeSets([[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]]);
const tiny = buildRangeSets([[{ subnet: "10.23.0.0/30" }]]);
const key = (containerId: string, ifname = "eth0", network = "podnet"): AttachmentKey => ({
  network,
  containerId,
  ifname,
});
const web: PodIdentity = { namespace: "shop", name: "web-1", labels: { app: "web", tier: "front" } };
const tcpCheck = parseReadinessCheck({ tcpSocket: { port: 8080 }, periodSeconds: 1 }) as ReadinessCheck;

describe("pod rows in the IPAM state", () => {
  test("an allocation with a pod records the pod with every address of the attachment", () => {
    const state = open();
    const { allocations } = state.allocate(key("c1"), dual, [], web);
    const { rows, problems } = state.listPods("podnet");
    expect(problems).toEqual([]);
    expect(rows).toEqual([{ ...key("c1"), ...web, ips: allocations.map((a) => formatIP(a.ip)) }]);
    expect(rows[0]?.ips).toEqual(["10.22.0.2", "fd00:22::2"]);
    // Another process (the agent) reads the same rows.
    const reader = open();
    expect(reader.listPods("podnet").rows).toEqual(rows);
  });

  test("an allocation without a pod (podnet-ipam standalone) records none", () => {
    const state = open();
    state.allocate(key("c1"), dual, []);
    expect(state.listPods("podnet").rows).toEqual([]);
  });

  test("a failed allocation records no pod (one transaction)", () => {
    const state = open();
    state.allocate(key("a"), tiny, [], web);
    expect(() => state.allocate(key("b"), tiny, [], { ...web, name: "web-2" })).toThrow(
      AddressExhaustedError,
    );
    expect(state.listPods("podnet").rows.map((r) => r.containerId)).toEqual(["a"]);
  });

  test("a repeated ADD keeps the addresses and updates the pod", () => {
    const state = open();
    const first = state.allocate(key("c1"), dual, [], web);
    const relabelled = { ...web, labels: { app: "web", track: "canary" } };
    const again = state.allocate(key("c1"), dual, [], relabelled);
    expect(again.existing).toBe(true);
    expect(again.allocations.map((a) => formatIP(a.ip))).toEqual(
      first.allocations.map((a) => formatIP(a.ip)),
    );
    expect(state.listPods("podnet").rows).toEqual([
      { ...key("c1"), ...relabelled, ips: ["10.22.0.2", "fd00:22::2"] },
    ]);
  });

  test("release removes the pod row with the addresses; releasing again or the unknown is fine", () => {
    const state = open();
    state.allocate(key("c1"), dual, [], web);
    state.allocate(key("c2"), dual, [], { ...web, name: "web-2" });
    state.release(key("c1"));
    expect(state.listPods("podnet").rows.map((r) => r.containerId)).toEqual(["c2"]);
    expect(state.release(key("c1"))).toEqual([]);
    expect(state.release(key("never"))).toEqual([]);
    expect(state.listPods("podnet").rows.map((r) => r.containerId)).toEqual(["c2"]);
  });

  test("rows are listed per network, by container and interface", () => {
    const state = open();
    state.allocate(key("b", "net1"), dual, [], web);
    state.allocate(key("b", "eth0"), dual, [], web);
    state.allocate(key("a"), dual, [], { ...web, name: "web-0" });
    state.allocate(key("z", "eth0", "other"), dual, [], web);
    expect(state.listPods("podnet").rows.map((r) => `${r.containerId}/${r.ifname}`)).toEqual([
      "a/eth0",
      "b/eth0",
      "b/net1",
    ]);
    expect(state.listPods("other").rows.map((r) => r.containerId)).toEqual(["z"]);
  });

  test("an unreadable row is named and the others are still listed", () => {
    const state = open();
    state.allocate(key("good"), dual, [], web);
    state.allocate(key("bad"), dual, [], web);
    const db = new Database(join(t.dir, "ipam.db"));
    db.run("UPDATE pods SET labels = '[1]' WHERE container_id = 'bad'");
    db.close();
    const { rows, problems } = state.listPods("podnet");
    expect(rows.map((r) => r.containerId)).toEqual(["good"]);
    expect(problems).toEqual([
      'pod row of bad/eth0 in network "podnet" is unreadable: labels are not a JSON object',
    ]);
  });

  test("a database of schema version 1 gains the pods table and keeps its allocations", () => {
    mkdirSync(t.dir, { recursive: true });
    const v1 = new Database(join(t.dir, "ipam.db"));
    v1.run(
      "CREATE TABLE allocations (network TEXT NOT NULL, ip TEXT NOT NULL, container_id TEXT NOT NULL, " +
        "ifname TEXT NOT NULL, set_index INTEGER NOT NULL, subnet TEXT NOT NULL, gateway TEXT, " +
        "allocated_at INTEGER NOT NULL, PRIMARY KEY (network, ip))",
    );
    v1.run(
      "CREATE TABLE last_reserved (network TEXT NOT NULL, range_set TEXT NOT NULL, ip TEXT NOT NULL, PRIMARY KEY (network, range_set))",
    );
    v1.run("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    v1.run(
      "INSERT INTO allocations VALUES ('podnet', '10.22.0.2', 'old', 'eth0', 0, '10.22.0.0/24', '10.22.0.1', 1)",
    );
    v1.run("PRAGMA user_version = 1");
    v1.close();
    const state = open();
    expect(state.find(key("old")).map((a) => formatIP(a.ip))).toEqual(["10.22.0.2"]);
    state.allocate(key("new"), buildRangeSets([[{ subnet: "10.22.0.0/24" }]]), [], web);
    expect(state.listPods("podnet").rows.map((r) => [r.containerId, r.ips])).toEqual([
      ["new", ["10.22.0.3"]],
    ]);
  });

  test("a pod's readiness check is kept with its row; a repeated ADD replaces or drops it", () => {
    const state = open();
    state.allocate(key("c1"), dual, [], { ...web, readiness: tcpCheck });
    state.allocate(key("c2"), dual, [], { ...web, name: "web-2" });
    const rows = open().listPods("podnet").rows;
    expect(rows.map((r) => [r.name, r.readiness])).toEqual([
      ["web-1", tcpCheck],
      ["web-2", undefined],
    ]);
    expect("readiness" in (rows[1] ?? {})).toBe(false);
    state.allocate(key("c1"), dual, [], web);
    expect(state.listPods("podnet").rows[0]?.readiness).toBeUndefined();
  });

  test("a row whose stored check is not one is named unreadable", () => {
    const state = open();
    state.allocate(key("c1"), dual, [], { ...web, readiness: tcpCheck });
    const db = new Database(join(t.dir, "ipam.db"));
    db.run(`UPDATE pods SET readiness = '{"tcpSocket":{"port":0}}'`);
    db.close();
    expect(state.listPods("podnet")).toEqual({
      rows: [],
      problems: [
        'pod row of c1/eth0 in network "podnet" is unreadable: readiness check: tcpSocket.port must be between 1 and 65535, got 0',
      ],
    });
  });

  test("a database of schema version 3 gains pods.readiness: its rows have no check, version 2 readers still fit", () => {
    mkdirSync(t.dir, { recursive: true });
    const v3 = new Database(join(t.dir, "ipam.db"));
    v3.run(
      "CREATE TABLE allocations (network TEXT NOT NULL, ip TEXT NOT NULL, container_id TEXT NOT NULL, " +
        "ifname TEXT NOT NULL, set_index INTEGER NOT NULL, subnet TEXT NOT NULL, gateway TEXT, " +
        "allocated_at INTEGER NOT NULL, PRIMARY KEY (network, ip))",
    );
    v3.run(
      "CREATE TABLE last_reserved (network TEXT NOT NULL, range_set TEXT NOT NULL, ip TEXT NOT NULL, PRIMARY KEY (network, range_set))",
    );
    v3.run("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    v3.run(
      "CREATE TABLE pods (network TEXT NOT NULL, container_id TEXT NOT NULL, ifname TEXT NOT NULL, " +
        "namespace TEXT NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, ips TEXT NOT NULL, " +
        "recorded_at INTEGER NOT NULL, netns TEXT, PRIMARY KEY (network, container_id, ifname))",
    );
    v3.run(
      "CREATE TABLE releases (id INTEGER PRIMARY KEY, network TEXT NOT NULL, ip TEXT NOT NULL, container_id TEXT NOT NULL, " +
        "ifname TEXT NOT NULL, namespace TEXT, name TEXT, released_at INTEGER NOT NULL)",
    );
    v3.run(
      "INSERT INTO allocations VALUES ('podnet', '10.22.0.2', 'old', 'eth0', 0, '10.22.0.0/24', '10.22.0.1', 1)",
    );
    v3.run(
      `INSERT INTO pods VALUES ('podnet', 'old', 'eth0', 'shop', 'old-1', '{}', '["10.22.0.2"]', 1, '/run/netns/x')`,
    );
    v3.run("INSERT INTO meta VALUES ('schema_version', '3')");
    v3.run("PRAGMA user_version = 2");
    v3.close();
    const state = open();
    expect(state.listPods("podnet").rows).toEqual([
      {
        ...key("old"),
        namespace: "shop",
        name: "old-1",
        labels: {},
        ips: ["10.22.0.2"],
        netns: "/run/netns/x",
      },
    ]);
    state.allocate(key("new"), buildRangeSets([[{ subnet: "10.22.0.0/24" }]]), [], {
      ...web,
      readiness: tcpCheck,
    });
    expect(state.listPods("podnet").rows.map((r) => r.readiness)).toEqual([tcpCheck, undefined]);
    const check = new Database(join(t.dir, "ipam.db"));
    expect(check.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version).toBe(2);
    expect(
      check.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'schema_version'").get()?.value,
    ).toBe("4");
    check.close();
  });
});
