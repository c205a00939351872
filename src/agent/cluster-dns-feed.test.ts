import { describe, expect, test } from "bun:test";
import { ClusterZone } from "../dns/cluster-zone.ts";
import type { PodRecord, Service } from "../k8s/service-model.ts";
import { EndpointIndex } from "../proxy/endpoint-index.ts";
import { ClusterDnsFeed } from "./cluster-dns-feed.ts";

function service(name: string, clusterIPs: string[], app = name): Service {
  return {
    namespace: "default",
    name,
    clusterIPs,
    ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
    sessionAffinity: { kind: "None" },
    selector: { app },
  };
}

function pod(name: string, ip: string, app: string, ready?: boolean): PodRecord {
  return {
    namespace: "default",
    name,
    node: "node1",
    ips: [ip],
    labels: { app },
    ...(ready === undefined ? {} : { ready }),
  };
}

/** What the zone answers at a name: its records, or NXDOMAIN. */
function answer(zone: ClusterZone, name: string): string[] | "NXDOMAIN" {
  const found = zone.lookup(name);
  if (found.kind === "nxdomain") return "NXDOMAIN";
  return found.records.map(
    (r) => `${r.type} ${typeof r.data === "string" ? r.data : JSON.stringify(r.data)}`,
  );
}

const WEB = "web.default.svc.cluster.local";
const DB = "db.default.svc.cluster.local";

function setup() {
  const index = new EndpointIndex();
  const zone = new ClusterZone({ reverseCidrs: ["10.96.0.0/12", "10.244.0.0/16"] });
  const feed = new ClusterDnsFeed(zone);
  index.reset([service("web", ["10.96.0.10"]), service("db", [])], [pod("db-1", "10.244.1.5", "db")]);
  feed.reset(index.entries());
  return { index, zone, feed };
}

describe("ClusterDnsFeed", () => {
  test("a listing fills the zone: a ClusterIP Service and a headless one with its ready pod", () => {
    const { zone, feed } = setup();
    expect(feed.services).toBe(2);
    expect(answer(zone, WEB)).toEqual(["A 10.96.0.10"]);
    expect(answer(zone, DB)).toEqual(["A 10.244.1.5"]);
    expect(answer(zone, `db-1.${DB}`)).toEqual(["A 10.244.1.5"]);
  });

  test("an update puts only the Services whose entry changed, and deletes those gone", () => {
    const { index, zone, feed } = setup();
    // Nothing changed: nothing is put again.
    expect(feed.update(index.entries())).toEqual({ put: 0, deleted: 0 });

    // A pod selected by db only: db is recomputed, web is left alone.
    index.putPod(pod("db-2", "10.244.1.6", "db"));
    expect(feed.update(index.entries())).toEqual({ put: 1, deleted: 0 });
    expect(answer(zone, DB)).toEqual(["A 10.244.1.5", "A 10.244.1.6"]);

    index.putService(service("api", ["10.96.0.11"]));
    index.deleteService("default", "web");
    expect(feed.update(index.entries())).toEqual({ put: 1, deleted: 1 });
    expect(answer(zone, WEB)).toBe("NXDOMAIN");
    expect(answer(zone, "api.default.svc.cluster.local")).toEqual(["A 10.96.0.11"]);
    expect(answer(zone, "10.0.96.10.in-addr.arpa")).toBe("NXDOMAIN");
  });

  test("a pod turning unready leaves the headless Service's answers; with none ready the name is gone", () => {
    const { index, zone, feed } = setup();
    index.putPod(pod("db-2", "10.244.1.6", "db"));
    feed.update(index.entries());
    index.putPod(pod("db-1", "10.244.1.5", "db", false));
    feed.update(index.entries());
    expect(answer(zone, DB)).toEqual(["A 10.244.1.6"]);
    expect(answer(zone, `db-1.${DB}`)).toBe("NXDOMAIN");
    index.putPod(pod("db-2", "10.244.1.6", "db", false));
    feed.update(index.entries());
    expect(answer(zone, DB)).toBe("NXDOMAIN");
  });

  test("a reset after a re-list drops what the datastore no longer has", () => {
    const { index, zone, feed } = setup();
    index.reset([service("web", ["10.96.0.12"])], []);
    expect(feed.reset(index.entries())).toEqual({ put: 1, deleted: 1 });
    expect(answer(zone, WEB)).toEqual(["A 10.96.0.12"]);
    expect(answer(zone, DB)).toBe("NXDOMAIN");
    expect(zone.serviceCount).toBe(1);
    // And updates after it start from the new picture.
    expect(feed.update(index.entries())).toEqual({ put: 0, deleted: 0 });
  });

  test("updateKeys reads only the Services the view names, puts the changed ones and deletes those gone", () => {
    const { index, zone, feed } = setup();
    index.takeChanged();
    // A lookup that counts its reads: the cost is that of the change, not of every Service.
    const read: string[] = [];
    const lookup = (key: string) => {
      read.push(key);
      return index.entry(key);
    };
    index.putPod(pod("db-2", "10.244.1.6", "db"));
    expect(feed.updateKeys(index.takeChanged(), lookup)).toEqual({ put: 1, deleted: 0 });
    expect(read).toEqual(["default/db"]);
    expect(answer(zone, DB)).toEqual(["A 10.244.1.5", "A 10.244.1.6"]);

    index.putService(service("api", ["10.96.0.11"]));
    index.deleteService("default", "web");
    expect(feed.updateKeys(index.takeChanged(), lookup)).toEqual({ put: 1, deleted: 1 });
    expect(answer(zone, WEB)).toBe("NXDOMAIN");
    expect(answer(zone, "api.default.svc.cluster.local")).toEqual(["A 10.96.0.11"]);
    expect(feed.services).toBe(2);
    // A key named twice, or one the zone already has in this form, costs nothing more.
    expect(feed.updateKeys(["default/api", "default/web", "default/nope"], lookup)).toEqual({
      put: 0,
      deleted: 0,
    });
  });
});
