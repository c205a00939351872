/**
 * `podnet ui`'s server when its datastore goes away for real: a one-member etcd (on a loopback
 * port, as the store tests run it) is killed while a page follows the event stream. The map is
 * pushed again marked stale — since when, and why — and /api/map says so too; once the member is
 * back, the next map is live again, with no reload.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { initClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import { announceNode } from "../../src/cluster/node-registry.ts";
import { buildClusterConfig } from "../../src/ipam/cluster-config.ts";
import type { Store } from "../../src/store/store.ts";
import type { ClusterMap } from "../../src/ui/map-types.ts";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.ts";
import { readMapUntil } from "../support/read-map-until.ts";
import { type EtcdBackend, etcdBackend } from "./harness/store-backends.ts";

describe("podnet ui's server when the datastore is lost", () => {
  let backend: EtcdBackend | undefined;
  let store: Store | undefined;
  let server: UiServer | undefined;

  afterAll(async () => {
    await server?.stop();
    await backend?.dispose();
  });

  test("the etcd member killed: the map is pushed stale; back: live again", async () => {
    backend = await etcdBackend(1);
    store = await backend.open();
    await initClusterConfig(
      store,
      buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
    );
    const lease = await store.grantLease(600);
    await announceNode(
      store,
      {
        name: "node1",
        nodeIPs: ["192.0.2.11"],
        blocks: ["10.244.1.0/24"],
        backend: "auto",
        vtepMac: "02:00:00:00:00:01",
      },
      lease.id,
    );
    server = await startUiServer({
      store,
      hostname: "127.0.0.1",
      port: 0,
      factsTimeoutMs: 300,
      log: () => {},
    });
    const api = (path: string) =>
      fetch(`http://127.0.0.1:${server?.port}${path}`, { headers: { "sec-fetch-site": "same-origin" } });
    const live = (await (await api("/api/map")).json()) as ClusterMap;
    expect(live.stale).toBeUndefined();
    expect(live.nodes.map((n) => n.name)).toEqual(["node1"]);

    const events = await api("/api/events");
    if (!events.body) throw new Error("no event stream");
    const staleSeen = readMapUntil(events.body, (m) => m.stale !== undefined, 30_000);
    const member = backend.cluster.members[0];
    if (!member) throw new Error("no etcd member");
    const killedAt = Date.now();
    await backend.cluster.stop(member, "SIGKILL");
    const stale = await staleSeen;
    expect(stale.version).toBeGreaterThan(live.version);
    expect(stale.stale?.reason).toMatch(/^(reading|watching) the datastore failed: /);
    expect(Date.parse(stale.stale?.since ?? "")).toBeGreaterThanOrEqual(killedAt - 1000);
    // The cluster as it was last read is still drawn.
    expect(stale.nodes.map((n) => n.name)).toEqual(["node1"]);
    const asked = (await (await api("/api/map")).json()) as ClusterMap;
    expect(asked.stale?.since).toBe(stale.stale?.since ?? "");

    const again = await api("/api/events");
    if (!again.body) throw new Error("no event stream");
    const liveSeen = readMapUntil(
      again.body,
      (m) => m.version > stale.version && m.stale === undefined,
      60_000,
    );
    await backend.cluster.start(member);
    const back = await liveSeen;
    expect(back.nodes.map((n) => n.name)).toEqual(["node1"]);
  }, 120_000);
});
