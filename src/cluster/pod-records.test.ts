import { describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { pollUntil } from "../base/poll-until.ts";
import type { PodRecord, Service } from "../k8s/service-model.ts";
import { selects } from "../k8s/service-model.ts";
import type { PodRecordEvent } from "./pod-records.ts";
import {
  InvalidPodRecordError,
  listEndpoints,
  listPodRecords,
  listServiceEndpoints,
  PODS_PREFIX,
  parsePodRecord,
  podRecordKey,
  putPodRecord,
  watchPodRecords,
} from "./pod-records.ts";

const store = useTempStores("podnet-pods");

const pod = (over: Partial<PodRecord> = {}): PodRecord => ({
  namespace: "default",
  name: "web-1",
  node: "node-1",
  ips: ["10.244.1.5"],
  labels: { app: "web" },
  ...over,
});

const service = (over: Partial<Service> = {}): Service => ({
  namespace: "default",
  name: "web",
  clusterIPs: ["10.96.0.20"],
  ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
  sessionAffinity: { kind: "None" },
  selector: { app: "web" },
  ...over,
});

describe("pod records", () => {
  test("put, list (all or one node), replace and delete", async () => {
    const s = await store();
    await putPodRecord(s, pod());
    await putPodRecord(s, pod({ name: "web-2", node: "node-2", ips: ["10.244.2.7", "FD00:10:244:2::7"] }));
    expect((await listPodRecords(s)).pods.map((p) => p.name)).toEqual(["web-1", "web-2"]);
    const [two] = (await listPodRecords(s, "node-2")).pods;
    expect(two?.ips).toEqual(["10.244.2.7", "fd00:10:244:2::7"]);
    await putPodRecord(s, pod({ labels: { app: "db" } }));
    expect((await listPodRecords(s, "node-1")).pods[0]?.labels).toEqual({ app: "db" });
    expect(await s.delete(podRecordKey({ node: "node-1", namespace: "default", name: "web-1" }))).toBe(true);
    expect(await s.delete(podRecordKey({ node: "node-1", namespace: "default", name: "web-1" }))).toBe(false);
    expect((await listPodRecords(s)).pods.map((p) => p.name)).toEqual(["web-2"]);
  });

  test("records put under a node's lease disappear with the lease", async () => {
    const s = await store();
    const lease = await s.grantLease(60);
    await putPodRecord(s, pod(), lease.id);
    await putPodRecord(s, pod({ name: "static", node: "node-2" }));
    await s.revoke(lease.id);
    expect((await listPodRecords(s)).pods.map((p) => p.name)).toEqual(["static"]);
  });

  test("bad records are refused naming the field; unreadable stored ones are reported, not used", async () => {
    const s = await store();
    const bad: [Partial<PodRecord>, string][] = [
      [{ node: "Node_1" }, "node"],
      [{ namespace: "Default" }, "namespace"],
      [{ name: "a/b" }, "name"],
      [{ ips: [] }, "ips"],
      [{ ips: ["10.244.1.300"] }, "ips"],
      [{ ips: ["10.244.1.5", "10.244.1.05"] }, "ips"],
      [{ labels: { app: "no spaces" } }, "labels"],
      [{ ready: "yes" as unknown as boolean }, "ready"],
    ];
    for (const [over, field] of bad) {
      const e = await putPodRecord(s, pod(over)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InvalidPodRecordError);
      expect((e as InvalidPodRecordError).field).toBe(field);
    }
    // A container ID stands in for the name when the runtime gave no Kubernetes pod name.
    await putPodRecord(s, pod({ name: "3f9a_C0ntainer.ID-1" }));
    await s.put(`${PODS_PREFIX}node-1/default/broken`, "{");
    await s.put(`${PODS_PREFIX}node-9/default/moved`, JSON.stringify(pod({ name: "moved" })));
    const { pods, invalid } = await listPodRecords(s);
    expect(pods.map((p) => p.name)).toEqual(["3f9a_C0ntainer.ID-1"]);
    expect(invalid).toHaveLength(2);
  });

  test("a stored record reads back in the form put writes, whatever its field order or extra fields; addresses canonical", () => {
    const key = podRecordKey(pod());
    const want = pod();
    const texts = [
      JSON.stringify(want),
      '{"name":"web-1","namespace":"default","node":"node-1","ips":["10.244.1.5"],"labels":{"app":"web"}}',
      JSON.stringify({ ...want, extra: 1 }),
      JSON.stringify({ ...want, ready: true }),
    ];
    for (const text of texts) {
      const read = parsePodRecord(key, text);
      expect(read).toEqual(want);
      expect(Object.keys(read)).toEqual(["namespace", "name", "node", "ips", "labels"]);
    }
    const unready = parsePodRecord(
      key,
      JSON.stringify({ ...want, ips: ["FD00::7", "10.244.1.5"], ready: false }),
    );
    expect(unready).toEqual({ ...want, ips: ["fd00::7", "10.244.1.5"], ready: false });
    expect(() => parsePodRecord(`${PODS_PREFIX}node-1/default/web-2`, texts[0] as string)).toThrow(
      InvalidPodRecordError,
    );
  });

  test("equal labels of the records of one listing are one object", async () => {
    const s = await store();
    await putPodRecord(s, pod());
    await putPodRecord(s, pod({ name: "web-2", node: "node-2" }));
    await putPodRecord(s, pod({ name: "db-1", labels: { app: "db" } }));
    const { pods } = await listPodRecords(s);
    const labelsOf = (name: string) => pods.find((p) => p.name === name)?.labels;
    expect(labelsOf("web-1")).toBe(labelsOf("web-2") as PodRecord["labels"]);
    expect(labelsOf("db-1")).toEqual({ app: "db" });
  });

  test("readiness: stored only when the pod is not ready; a record without it is a ready pod", async () => {
    const s = await store();
    await putPodRecord(s, pod({ ready: true }));
    await putPodRecord(s, pod({ name: "web-2", ready: false }));
    const text = async (name: string) =>
      (await s.get(podRecordKey({ node: "node-1", namespace: "default", name })))?.value;
    // The text an agent that knows nothing of readiness writes, so an upgrade rewrites nothing.
    expect(await text("web-1")).toBe(JSON.stringify(pod()));
    expect(JSON.parse((await text("web-2")) ?? "")).toEqual({ ...pod({ name: "web-2" }), ready: false });
    const { pods } = await listPodRecords(s);
    expect(pods.map((p) => [p.name, p.ready])).toEqual([
      ["web-1", undefined],
      ["web-2", false],
    ]);
  });

  test("watch delivers decoded puts and deletes", async () => {
    const s = await store();
    const { revision } = await listPodRecords(s);
    const events: PodRecordEvent[] = [];
    const watch = watchPodRecords(
      s,
      revision + 1,
      (evs) => events.push(...evs),
      (e) => {
        throw e;
      },
    );
    try {
      await putPodRecord(s, pod());
      await s.delete(podRecordKey(pod()));
      await pollUntil("a put and a delete event", () => events.length >= 2, 5000, { intervalMs: 10 });
      expect(events[0]).toMatchObject({ type: "put", pod: pod() });
      expect(events[1]).toMatchObject({
        type: "delete",
        pod: { node: "node-1", namespace: "default", name: "web-1" },
      });
    } finally {
      watch.close();
    }
  });
});

describe("listEndpoints", () => {
  test("endpoints follow the selector and stay within the Service's namespace", async () => {
    const s = await store();
    await putPodRecord(s, pod());
    await putPodRecord(s, pod({ name: "web-2", node: "node-2", ips: ["10.244.2.7", "fd00::7"] }));
    await putPodRecord(s, pod({ name: "db-1", labels: { app: "db" } }));
    await putPodRecord(s, pod({ namespace: "other", name: "web-x", ips: ["10.244.1.9"] }));
    expect(await listEndpoints(s, service())).toEqual([
      { ip: "10.244.1.5", node: "node-1", pod: "default/web-1" },
      { ip: "10.244.2.7", node: "node-2", pod: "default/web-2" },
      { ip: "fd00::7", node: "node-2", pod: "default/web-2" },
    ]);
    expect((await listEndpoints(s, service({ namespace: "other" }))).map((e) => e.pod)).toEqual([
      "other/web-x",
    ]);
    expect(await listEndpoints(s, service({ selector: {} }))).toEqual([]);
    // Relabelling a pod moves it between Services.
    await putPodRecord(s, pod({ labels: { app: "db" } }));
    expect((await listEndpoints(s, service())).map((e) => e.pod)).toEqual(["default/web-2", "default/web-2"]);
  });

  test("a pod that is not ready is no endpoint, and is listed apart; ready again, it is back", async () => {
    const s = await store();
    await putPodRecord(s, pod());
    await putPodRecord(s, pod({ name: "web-2", ips: ["10.244.1.6"], ready: false }));
    expect((await listEndpoints(s, service())).map((e) => e.ip)).toEqual(["10.244.1.5"]);
    expect(await listServiceEndpoints(s, service())).toEqual({
      ready: [{ ip: "10.244.1.5", node: "node-1", pod: "default/web-1" }],
      notReady: [{ ip: "10.244.1.6", node: "node-1", pod: "default/web-2" }],
    });
    await putPodRecord(s, pod({ ready: false }));
    expect(await listEndpoints(s, service())).toEqual([]);
    await putPodRecord(s, pod({ name: "web-2", ips: ["10.244.1.6"], ready: true }));
    expect((await listEndpoints(s, service())).map((e) => e.ip)).toEqual(["10.244.1.6"]);
  });

  test("property: an endpoint exists exactly for each address of each ready same-namespace pod the selector matches", async () => {
    const s = await store();
    const random = mulberry32(77);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const pods: PodRecord[] = [];
    for (let i = 0; i < 40; i++) {
      const labels: Record<string, string> = {};
      if (random() < 0.7) labels.app = pick(["web", "db"]);
      if (random() < 0.5) labels.tier = pick(["front", "back"]);
      const p = pod({
        namespace: pick(["default", "prod"]),
        name: `p-${i}`,
        node: pick(["node-1", "node-2", "node-3"]),
        ips: random() < 0.3 ? [`10.244.0.${i + 1}`, `fd00::${i + 1}`] : [`10.244.0.${i + 1}`],
        labels,
        ...(random() < 0.5 ? { ready: random() < 0.5 } : {}),
      });
      pods.push(p);
      await putPodRecord(s, p);
    }
    for (let round = 0; round < 20; round++) {
      const selector: Record<string, string> = {};
      if (random() < 0.8) selector.app = pick(["web", "db"]);
      if (random() < 0.5) selector.tier = pick(["front", "back"]);
      const svc = service({ namespace: pick(["default", "prod"]), selector });
      const got = (await listEndpoints(s, svc)).map((e) => `${e.pod} ${e.ip} ${e.node}`).sort();
      const want = pods
        .filter((p) => p.namespace === svc.namespace && selects(selector, p.labels) && p.ready !== false)
        .flatMap((p) => p.ips.map((ip) => `${p.namespace}/${p.name} ${ip} ${p.node}`))
        .sort();
      expect(got).toEqual(want);
    }
  });
});
