import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { useTempNodeState } from "../../test/support/temp-node-state.ts";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { AddressExhaustedError, RequestedAddressError } from "../ipam/errors.ts";
import { buildRangeSets, type RangeInput } from "../ipam/range-set.ts";
import { formatIP, parseIP } from "../ipnet/address.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { NodeState, StateUnavailableError } from "./node-state.ts";

const t = useTempNodeState("podnet-node-state");
const open = (dataDir?: string) => t.open(dataDir);

const sets = (...input: RangeInput[][]) => buildRangeSets(input);
const v4 = sets([{ subnet: "10.22.0.0/24" }]);
const key = (containerId: string, ifname = "eth0"): AttachmentKey => ({
  network: "podnet",
  containerId,
  ifname,
});
const ips = (allocations: { ip: Parameters<typeof formatIP>[0] }[]) => allocations.map((a) => formatIP(a.ip));

function unavailable(fn: () => unknown): StateUnavailableError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StateUnavailableError) return error;
    throw error;
  }
  throw new Error("expected a StateUnavailableError");
}

describe("open", () => {
  test("creates the directory with mode 0700 and the database inside", () => {
    const state = open();
    expect(statSync(t.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(t.dir, "ipam.db")).isFile()).toBe(true);
    expect(state.path).toBe(join(t.dir, "ipam.db"));
    const db = new Database(join(t.dir, "ipam.db"), { readonly: true });
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    db.close();
  });

  test.each([
    ["relative/dir", "is not an absolute path"],
    ["/tmp/../etc", 'contains ".."'],
    ["/tmp/a\0b", "contains a NUL byte"],
  ])("rejects data dir %p", (dataDir, reason) => {
    const error = unavailable(() => NodeState.open(dataDir));
    expect(error.path).toBe(dataDir);
    expect(error.reason).toBe(reason);
    expect(error.message).toBe(`IPAM state "${dataDir}" is unavailable: ${reason}`);
  });

  test("a directory that cannot be created names the path", () => {
    writeFileSync(join(t.root, "file"), "");
    const error = unavailable(() => NodeState.open(join(t.root, "file", "state")));
    expect(error.path).toBe(join(t.root, "file", "state"));
    expect(error.reason).toContain("cannot create directory");
  });

  test("a corrupt database file is reported, not overwritten", () => {
    mkdirSync(t.dir);
    writeFileSync(
      join(t.dir, "ipam.db"),
      "this is not a database, it is a text file of some length".repeat(100),
    );
    const error = unavailable(() => NodeState.open(t.dir));
    expect(error.path).toBe(join(t.dir, "ipam.db"));
    expect(error.message).toContain("not a database");
    expect(error.sqliteCode).toBe("SQLITE_NOTADB");
    expect(readFileSync(join(t.dir, "ipam.db"), "utf8")).toStartWith("this is not a database");
  });

  test("a schema from a newer podnet is refused", () => {
    open().close();
    const db = new Database(join(t.dir, "ipam.db"));
    db.run("PRAGMA user_version = 99");
    db.close();
    expect(unavailable(() => NodeState.open(t.dir)).reason).toContain("schema version 99 is newer");
  });

  test("reopening an up-to-date database keeps its data and schema version and writes nothing", () => {
    const first = open();
    first.allocate(key("a"), v4, []);
    first.close();
    // data_version changes for this connection whenever another connection commits: reopening
    // runs in every plugin invocation and must only read (no schema rewrite, no write lock taken).
    const observer = new Database(join(t.dir, "ipam.db"), { readonly: true });
    const dataVersion = () =>
      observer.query<{ data_version: number }, []>("PRAGMA data_version").get()?.data_version;
    const userVersion = () =>
      observer.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version;
    try {
      const versionBefore = userVersion();
      const before = dataVersion();
      const second = open();
      expect(ips(second.find(key("a")))).toEqual(["10.22.0.2"]);
      second.close();
      expect(dataVersion()).toBe(before);
      expect(userVersion()).toBe(versionBefore);
      expect(versionBefore).toBeGreaterThan(0);
    } finally {
      observer.close();
    }
  });
});

describe("allocate / release", () => {
  test("skips the gateway and returns subnet and gateway", () => {
    const { allocations, existing } = open().allocate(key("a"), v4, []);
    expect(existing).toBe(false);
    expect(allocations.length).toBe(1);
    const [a] = allocations;
    expect(formatIP(a!.ip)).toBe("10.22.0.2");
    expect(formatPrefix(a!.subnet)).toBe("10.22.0.0/24");
    expect(a!.gateway && formatIP(a!.gateway)).toBe("10.22.0.1");
    expect(a).toMatchObject({ network: "podnet", containerId: "a", ifname: "eth0", setIndex: 0 });
  });

  test("a repeated ADD returns the same addresses", () => {
    const state = open();
    const dual = sets([{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]);
    const first = state.allocate(key("a"), dual, []);
    const again = state.allocate(key("a"), dual, []);
    expect(again.existing).toBe(true);
    expect(ips(again.allocations)).toEqual(ips(first.allocations));
    expect(ips(first.allocations)).toEqual(["10.22.0.2", "fd00:22::2"]);
    expect(state.list("podnet").length).toBe(2);
  });

  test("different interfaces of one container get different addresses", () => {
    const state = open();
    const eth0 = state.allocate(key("a", "eth0"), v4, []);
    const net1 = state.allocate(key("a", "net1"), v4, []);
    expect(ips(net1.allocations)).not.toEqual(ips(eth0.allocations));
  });

  test("release is idempotent and returns what it released", () => {
    const state = open();
    state.allocate(key("a"), v4, []);
    expect(ips(state.release(key("a")))).toEqual(["10.22.0.2"]);
    expect(state.find(key("a"))).toEqual([]);
    expect(state.release(key("a"))).toEqual([]);
    expect(state.release(key("never-added"))).toEqual([]);
  });

  test("round robin: a released address is not handed out again at once", () => {
    const state = open();
    state.allocate(key("a"), v4, []);
    state.release(key("a"));
    expect(ips(state.allocate(key("b"), v4, []).allocations)).toEqual(["10.22.0.3"]);
    expect(ips(state.allocate(key("c"), v4, []).allocations)).toEqual(["10.22.0.4"]);
  });

  test("state persists across reopen, including the round-robin cursor", () => {
    const first = open();
    first.allocate(key("a"), v4, []);
    first.allocate(key("b"), v4, []);
    first.release(key("b"));
    first.close();
    const second = open();
    expect(ips(second.find(key("a")))).toEqual(["10.22.0.2"]);
    expect(second.allocate(key("a"), v4, []).existing).toBe(true);
    expect(ips(second.allocate(key("c"), v4, []).allocations)).toEqual(["10.22.0.4"]);
  });

  test("networks are independent", () => {
    const state = open();
    state.allocate(key("a"), v4, []);
    const other = state.allocate({ network: "other", containerId: "a", ifname: "eth0" }, v4, []);
    expect(ips(other.allocations)).toEqual(["10.22.0.2"]);
    expect(state.list("podnet").length).toBe(1);
    expect(state.listAll().map((a) => a.network)).toEqual(["other", "podnet"]);
  });

  test("requested addresses are honoured and conflicts refused", () => {
    const state = open();
    const got = state.allocate(key("a"), v4, [parseIP("10.22.0.77")]);
    expect(ips(got.allocations)).toEqual(["10.22.0.77"]);
    expect(() => state.allocate(key("b"), v4, [parseIP("10.22.0.77")])).toThrow(RequestedAddressError);
    expect(() => state.allocate(key("b"), v4, [parseIP("10.22.0.1")])).toThrow("is the gateway");
    // asking again for the address it already holds is a repeated ADD
    expect(state.allocate(key("a"), v4, [parseIP("10.22.0.77")]).existing).toBe(true);
    // asking for a different one replaces the old allocation
    const moved = state.allocate(key("a"), v4, [parseIP("10.22.0.78")]);
    expect(moved.existing).toBe(false);
    expect(ips(state.list("podnet"))).toEqual(["10.22.0.78"]);
  });

  test("allocations that no longer fit a changed config are replaced", () => {
    const state = open();
    state.allocate(key("a"), v4, []);
    const moved = state.allocate(key("a"), sets([{ subnet: "10.33.0.0/24" }]), []);
    expect(moved.existing).toBe(false);
    expect(ips(moved.allocations)).toEqual(["10.33.0.2"]);
    expect(ips(state.find(key("a")))).toEqual(["10.33.0.2"]);
    // a new gateway is reported for an address that still fits
    const regw = state.allocate(key("a"), sets([{ subnet: "10.33.0.0/24", gateway: "10.33.0.254" }]), []);
    expect(regw.existing).toBe(true);
    expect(formatIP(state.find(key("a"))[0]!.gateway!)).toBe("10.33.0.254");
  });

  test("reordered range sets keep the addresses and report the new set indexes", () => {
    const state = open();
    const v6 = [{ subnet: "fd00:22::/64" }];
    const before = state.allocate(key("a"), sets([{ subnet: "10.22.0.0/24" }], v6), []);
    const after = state.allocate(key("a"), sets(v6, [{ subnet: "10.22.0.0/24" }]), []);
    expect(after.existing).toBe(true);
    expect(ips(after.allocations)).toEqual([...ips(before.allocations)].reverse());
    expect(state.find(key("a")).map((a) => [a.setIndex, formatIP(a.ip)])).toEqual([
      [0, "fd00:22::2"],
      [1, "10.22.0.2"],
    ]);
  });

  test("exhaustion rolls back and leaves earlier allocations untouched", () => {
    const state = open();
    const tiny = sets([{ subnet: "10.22.0.0/30" }]);
    expect(ips(state.allocate(key("a"), tiny, []).allocations)).toEqual(["10.22.0.2"]);
    expect(() => state.allocate(key("b"), tiny, [])).toThrow(AddressExhaustedError);
    // a failed re-ADD with a new config keeps the old allocation (the whole transaction rolled back)
    state.allocate(key("c"), v4, []);
    expect(() => state.allocate(key("c"), tiny, [])).toThrow(AddressExhaustedError);
    expect(ips(state.find(key("c")))).toEqual(["10.22.0.3"]);
  });

  test("the schema itself refuses a second holder of an address", () => {
    open().allocate(key("a"), v4, []);
    const db = new Database(join(t.dir, "ipam.db"));
    expect(() =>
      db.run(
        "INSERT INTO allocations (network, ip, container_id, ifname, set_index, subnet, gateway, allocated_at) " +
          "VALUES ('podnet', '10.22.0.2', 'b', 'eth0', 0, '10.22.0.0/24', NULL, 0)",
      ),
    ).toThrow("UNIQUE constraint failed");
    db.close();
  });
});

describe("probe and close", () => {
  test("probe succeeds on a writable database and fails once closed", () => {
    const state = open();
    state.probe();
    state.close();
    expect(unavailable(() => state.probe()).reason).toBe("the database is closed");
    expect(unavailable(() => state.find(key("a"))).path).toBe(join(t.dir, "ipam.db"));
  });
});

describe("concurrency", () => {
  test("20 processes allocating at once get 20 distinct addresses", async () => {
    const helper = join(import.meta.dir, "node-state.concurrency-helper.ts");
    const startAt = Date.now() + 400;
    const children = Array.from({ length: 20 }, (_, i) =>
      Bun.spawn([process.execPath, helper, t.dir, `container-${i}`, String(startAt)], {
        stdout: "pipe",
        stderr: "pipe",
      }),
    );
    const results = await Promise.all(
      children.map(async (child) => {
        const [stdout, stderr, code] = await Promise.all([
          new Response(child.stdout).text(),
          new Response(child.stderr).text(),
          child.exited,
        ]);
        expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
        return JSON.parse(stdout) as string[];
      }),
    );
    const v4s = results.map((r) => r[0]);
    const v6s = results.map((r) => r[1]);
    expect(new Set(v4s).size).toBe(20);
    expect(new Set(v6s).size).toBe(20);
    const state = open();
    expect(state.list("race").length).toBe(40);
    for (let i = 0; i < 20; i++) {
      expect(ips(state.find({ network: "race", containerId: `container-${i}`, ifname: "eth0" }))).toEqual(
        results[i]!,
      );
    }
  }, 30_000);
});
