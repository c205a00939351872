import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { PODS_PREFIX, podRecordKey } from "../cluster/pod-records.ts";
import type { PodRecord } from "../k8s/service-model.ts";
import { type PodRow, parseReadinessCheck, type ReadinessCheck } from "../node-state/node-state.ts";
import type { StoredRecord } from "./pod-sync-plan.ts";
import { desiredPodRecords, planPodSync } from "./pod-sync-plan.ts";

const row = (over: Partial<PodRow> = {}): PodRow => ({
  network: "podnet",
  containerId: "c1",
  ifname: "eth0",
  namespace: "default",
  name: "web-1",
  labels: { app: "web" },
  ips: ["10.244.1.5"],
  ...over,
});

const stored = (record: PodRecord, lease = "L1"): StoredRecord => ({
  key: podRecordKey(record),
  value: JSON.stringify(record),
  lease,
});

describe("desiredPodRecords", () => {
  test("one record per attachment, on this node, canonical and ordered by key", () => {
    const { records, problems } = desiredPodRecords("node-1", [
      row({ containerId: "c2", name: "web-2", ips: ["fd00:0:0::0:7"] }),
      row(),
      row({ containerId: "c3", namespace: "shop", name: "db", labels: {} }),
    ]);
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { namespace: "default", name: "web-1", node: "node-1", ips: ["10.244.1.5"], labels: { app: "web" } },
      { namespace: "default", name: "web-2", node: "node-1", ips: ["fd00::7"], labels: { app: "web" } },
      { namespace: "shop", name: "db", node: "node-1", ips: ["10.244.1.5"], labels: {} },
    ]);
  });

  test("several attachments of one pod are one record with all their addresses", () => {
    const { records } = desiredPodRecords("node-1", [
      row({ ifname: "net1", ips: ["10.245.0.9"] }),
      row({ ips: ["10.244.1.5", "fd00::5"] }),
      // An old sandbox of the same pod whose DEL has not come yet.
      row({ containerId: "c0", ips: ["10.244.1.4"] }),
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]?.ips).toEqual(["10.244.1.4", "10.244.1.5", "fd00::5", "10.245.0.9"]);
  });

  test("attachments of one pod that disagree on labels: the first one's win, and it is reported", () => {
    const { records, problems } = desiredPodRecords("node-1", [
      row({ containerId: "c2", labels: { app: "db" } }),
      row({ containerId: "c1", labels: { app: "web" } }),
    ]);
    expect(records[0]?.labels).toEqual({ app: "web" });
    expect(problems).toEqual([
      'pod "default/web-1": attachment c2/eth0 has other labels than c1/eth0; publishing those of c1/eth0',
    ]);
    // Same labels in another order are no disagreement.
    const same = desiredPodRecords("node-1", [
      row({ labels: { a: "1", b: "2" } }),
      row({ ifname: "net1", labels: { b: "2", a: "1" } }),
    ]);
    expect(same.problems).toEqual([]);
  });

  test("a row that cannot be a valid record is left out and named; the others are published", () => {
    const { records, problems } = desiredPodRecords("node-1", [
      row({ containerId: "bad", name: "x", ips: ["not-an-ip"] }),
      row({ containerId: "bad2", name: "y", labels: { "bad key": "v" } }),
      row(),
    ]);
    expect(records.map((r) => r.name)).toEqual(["web-1"]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('Invalid pod record "default/x" on node "node-1": ips holds "not-an-ip"');
    expect(problems[0]).toContain("(from attachment bad/eth0); not published");
    expect(problems[1]).toContain("labels key");
  });
});

describe("desiredPodRecords: readiness", () => {
  test("a pod is published ready unless its readiness says not; ready is the text an older agent writes", () => {
    const rows = [
      row(),
      row({ containerId: "c2", name: "web-2" }),
      row({ containerId: "c3", name: "web-3" }),
    ];
    const { records } = desiredPodRecords(
      "node-1",
      rows,
      new Map([
        ["default/web-2", false],
        ["default/web-3", true],
        ["default/gone", false],
      ]),
    );
    expect(records.map((r) => [r.name, r.ready])).toEqual([
      ["web-1", undefined],
      ["web-2", false],
      ["web-3", undefined],
    ]);
    expect(desiredPodRecords("node-1", rows).records.every((r) => r.ready === undefined)).toBe(true);
  });

  const checked = (over: Partial<PodRow> = {}) =>
    row({
      readiness: parseReadinessCheck({ tcpSocket: { port: 8080 } }) as ReadinessCheck,
      recordedAt: 1_000,
      ...over,
    });

  test("a pod whose row declares a check is not ready until the checks say so (no race with them)", () => {
    const rows = [checked(), row({ containerId: "c2", name: "plain" })];
    // Published before the checks have seen the pod: not ready, the pod without a check ready.
    expect(desiredPodRecords("node-1", rows).records.map((r) => [r.name, r.ready])).toEqual([
      ["plain", undefined],
      ["web-1", false],
    ]);
    const ready = new Map([["default/web-1", { ready: true, attachment: "c1/eth0@1000" }]]);
    expect(desiredPodRecords("node-1", rows, ready).records[1]?.ready).toBeUndefined();
    // Forgotten again by the checks (undefined): not ready as at first.
    expect(desiredPodRecords("node-1", rows, new Map()).records[1]?.ready).toBe(false);
    // Only one of the pod's attachments declares the check: still checked.
    const two = [row({ containerId: "c0" }), checked()];
    expect(desiredPodRecords("node-1", two).records[0]?.ready).toBe(false);
  });

  test("a pod created again under the same name, address and check does not inherit the readiness", () => {
    const ready = new Map([["default/web-1", { ready: true, attachment: "c1/eth0@1000" }]]);
    // Same container and interface written again (a new ADD), or another sandbox: another attachment.
    for (const again of [checked({ recordedAt: 2_000 }), checked({ containerId: "c2" })])
      expect(desiredPodRecords("node-1", [again], ready).records[0]?.ready).toBe(false);
    // The same attachment keeps it.
    expect(desiredPodRecords("node-1", [checked()], ready).records[0]?.ready).toBeUndefined();
  });

  test("a readiness flip is one put of that pod's record, and flipping back is another", () => {
    const rows = [row(), row({ containerId: "c2", name: "web-2" })];
    const ready = desiredPodRecords("node-1", rows).records;
    const held = ready.map((r) => stored(r));
    const unready = desiredPodRecords("node-1", rows, new Map([["default/web-2", false]])).records;
    const plan = planPodSync(unready, held, "L1");
    expect(plan).toEqual({ puts: [{ ...ready[1], ready: false } as PodRecord], deletes: [] });
    const after = [held[0] as StoredRecord, stored(unready[1] as PodRecord)];
    expect(planPodSync(unready, after, "L1")).toEqual({ puts: [], deletes: [] });
    expect(planPodSync(ready, after, "L1").puts).toEqual([ready[1] as PodRecord]);
  });
});

describe("planPodSync", () => {
  // Ordered by key: default/db, default/web-1, default/web-2.
  const [db, web1, web2] = desiredPodRecords("node-1", [
    row(),
    row({ containerId: "c2", name: "web-2" }),
    row({ containerId: "c3", name: "db", labels: { app: "db" } }),
  ]).records as [PodRecord, PodRecord, PodRecord];

  test("nothing to do when the store already holds exactly the records on the lease", () => {
    expect(planPodSync([web1, web2], [stored(web1), stored(web2)], "L1")).toEqual({ puts: [], deletes: [] });
  });

  test("puts new and changed records, deletes those of pods that are gone", () => {
    const relabelled = { ...web2, labels: { app: "web", track: "canary" } };
    const plan = planPodSync(
      [web1, relabelled, db],
      [stored(web1), stored(web2), stored({ ...db, name: "gone" })],
      "L1",
    );
    expect(plan.puts).toEqual([relabelled, db]);
    expect(plan.deletes).toEqual([`${PODS_PREFIX}node-1/default/gone`]);
  });

  test("a record on another lease (before a restart, or a lease lost) is written again", () => {
    const plan = planPodSync(
      [web1, web2],
      [stored(web1, "OLD"), { ...stored(web2), lease: undefined }],
      "L1",
    );
    expect(plan.puts).toEqual([web1, web2]);
  });

  test("anything unreadable under the node's prefix goes", () => {
    const junk = [
      { key: `${PODS_PREFIX}node-1/default/web-1`, value: "{not json", lease: "L1" },
      { key: `${PODS_PREFIX}node-1/default`, value: "{}", lease: "L1" },
    ];
    const plan = planPodSync([web1], junk, "L1");
    expect(plan.puts).toEqual([web1]);
    expect(plan.deletes).toEqual([`${PODS_PREFIX}node-1/default`]);
  });

  test("property: applying the plan makes the store equal the desired records, all on the lease", () => {
    const random = mulberry32(0x90d5);
    const names = ["a", "b", "c", "d", "e", "f"];
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
    for (let round = 0; round < 500; round++) {
      const rows = names
        .filter(() => random() < 0.5)
        .flatMap((name, i) =>
          Array.from({ length: 1 + Math.floor(random() * 2) }, (_, j) =>
            row({
              containerId: `c${i}-${j}`,
              name,
              labels: { app: pick(["web", "db"]) },
              ips: [`10.244.${i}.${j + 2}`],
            }),
          ),
        );
      const desired = desiredPodRecords("node-1", rows).records;
      const store = new Map<string, StoredRecord>();
      for (const name of names.filter(() => random() < 0.5)) {
        const record = {
          ...web1,
          name,
          labels: { app: pick(["web", "db"]) },
          ips: [`10.244.9.${names.indexOf(name) + 2}`],
        };
        store.set(podRecordKey(record), stored(record, pick(["L1", "L0"])));
      }
      const plan = planPodSync(desired, [...store.values()], "L1");
      for (const key of plan.deletes) store.delete(key);
      for (const r of plan.puts) store.set(podRecordKey(r), stored(r, "L1"));
      expect([...store.values()].sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(
        desired.map((r) => stored(r, "L1")),
      );
      // And it is then a fixed point: a second plan changes nothing.
      expect(planPodSync(desired, [...store.values()], "L1")).toEqual({ puts: [], deletes: [] });
    }
  });
});
