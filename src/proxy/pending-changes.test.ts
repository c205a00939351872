import { describe, expect, test } from "bun:test";
import type { Service } from "../k8s/service-model.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import { PendingChanges } from "./pending-changes.ts";
import { SyncedServices } from "./synced-services.ts";

const entry = (name: string): ServiceEntry => {
  const service: Service = {
    namespace: "default",
    name,
    clusterIPs: ["10.96.0.1"],
    ports: [{ protocol: "TCP", port: 80, targetPort: 80 }],
    sessionAffinity: { kind: "None" },
    selector: { app: name },
  };
  return { service, endpoints: [] };
};

describe("PendingChanges", () => {
  test("everything first, then at most the limit per take, in the order the keys came", () => {
    const view = new Map(["a", "b", "c", "d", "e"].map((n) => [`default/${n}`, entry(n)]));
    const source = { entries: () => [...view.values()], entry: (k: string) => view.get(k) };
    const synced = new SyncedServices();
    const pending = new PendingChanges(2);
    expect(pending.take(source, synced).map(([k]) => k)).toHaveLength(5);
    expect(pending.more).toBe(false);
    for (const n of ["a", "b", "c"]) view.set(`default/${n}`, entry(n));
    view.delete("default/d");
    pending.changed(["default/a", "default/b", "default/c", "default/d"]);
    expect(pending.take(source, synced).map(([k]) => k)).toEqual(["default/a", "default/b"]);
    expect(pending.more).toBe(true);
    const rest = pending.take(source, synced);
    expect(rest.map(([k, , after]) => [k, after === undefined])).toEqual([
      ["default/c", false],
      ["default/d", true],
    ]);
    expect(pending.more).toBe(false);
    expect(synced.size).toBe(4);
  });

  test("after the view listed again, every Service is compared: equal ones are no change", () => {
    const view = new Map(["a", "b"].map((n) => [`default/${n}`, entry(n)]));
    const source = { entries: () => [...view.values()], entry: (k: string) => view.get(k) };
    const synced = new SyncedServices();
    const pending = new PendingChanges(1);
    pending.take(source, synced);
    view.set("default/b", entry("b"));
    pending.changed(["default/a"]);
    pending.relisted();
    expect(pending.take(source, synced)).toEqual([]);
    expect(pending.more).toBe(false);
  });
});

describe("PendingChanges after a relisting", () => {
  test("a Service listed again with equal content is no change, though its entry object is new", () => {
    const view = new Map(["a", "b"].map((n) => [`default/${n}`, entry(n)]));
    const source = { entries: () => [...view.values()], entry: (k: string) => view.get(k) };
    const synced = new SyncedServices();
    const pending = new PendingChanges(10);
    pending.take(source, synced);
    // A watch failed and the view listed again: every entry is a new object, one really changed.
    view.set("default/a", entry("a"));
    view.set("default/b", {
      ...entry("b"),
      endpoints: [{ ip: "10.244.0.9", node: "n1", pod: "default/b-1" }],
    });
    pending.relisted();
    expect(pending.take(source, synced).map(([k]) => k)).toEqual(["default/b"]);
  });
});
