import { describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import type { BgpStatusRecord } from "./bgp-status-records.ts";
import {
  bgpStatusKey,
  deleteBgpStatusRecord,
  InvalidBgpStatusRecordError,
  listBgpStatusRecords,
  parseBgpStatusRecord,
  putBgpStatusRecord,
} from "./bgp-status-records.ts";

const store = useTempStores("podnet-bgp-status");

function record(node: string): BgpStatusRecord {
  return {
    node,
    updatedAt: "2026-12-06T17:00:00.000Z",
    running: true,
    routerId: "192.0.2.11",
    announced: ["10.244.1.0/24"],
    sessions: [
      {
        peer: "lan1",
        neighbor: "192.0.2.1",
        localAsNumber: 64512,
        asNumber: 64512,
        state: "Active",
        received: 0,
        advertised: 0,
        lastError: "Socket: Connection refused",
      },
    ],
  };
}

describe("BGP status records", () => {
  test("published records list by node; a malformed one is reported, not used", async () => {
    const s = await store();
    await putBgpStatusRecord(s, record("node2"));
    await putBgpStatusRecord(s, record("node1"));
    await s.put(bgpStatusKey("node3"), JSON.stringify({ ...record("node3"), sessions: [{ peer: "x" }] }));
    const { records, invalid } = await listBgpStatusRecords(s);
    expect(records).toEqual([record("node1"), record("node2")]);
    expect(invalid).toEqual([
      "BGP status record /podnet/bgp-status/node3: sessions[0].neighbor is missing or malformed",
    ]);
    await deleteBgpStatusRecord(s, "node1");
    expect((await listBgpStatusRecords(s)).records.map((r) => r.node)).toEqual(["node2"]);
  });

  test("a record under the node's lease goes with the lease", async () => {
    const s = await store();
    const lease = await s.grantLease(60);
    await putBgpStatusRecord(s, record("node1"), lease.id);
    expect((await listBgpStatusRecords(s)).records).toHaveLength(1);
    await s.revoke(lease.id);
    expect((await listBgpStatusRecords(s)).records).toEqual([]);
  });

  test("a record must sit under its own node's key and have the right shape", async () => {
    const s = await store();
    await expect(putBgpStatusRecord(s, { ...record("node1"), node: "Node_1" })).rejects.toThrow(
      InvalidBgpStatusRecordError,
    );
    expect(() => parseBgpStatusRecord(bgpStatusKey("node2"), JSON.stringify(record("node1")))).toThrow(
      'describes node "node1", which belongs under another key',
    );
    expect(() =>
      parseBgpStatusRecord(bgpStatusKey("node1"), JSON.stringify({ ...record("node1"), running: "yes" })),
    ).toThrow("running is missing or malformed");
    expect(() => parseBgpStatusRecord(bgpStatusKey("node1"), "[1]")).toThrow("is not a JSON object");
  });
});
