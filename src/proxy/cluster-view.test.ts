/**
 * The node's one view of Services and pod records, on a real (SQLite) datastore: what start()
 * lists, what its subscribers hear, and that two of them share one watch.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { pollUntil } from "../base/poll-until.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import { createService, deleteService } from "../cluster/service-store.ts";
import type { Logger } from "../daemon/log.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { ClusterView, type ViewChange } from "./cluster-view.ts";

const store = useTempStores("podnet-cluster-view");
const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const views: ClusterView[] = [];
afterEach(() => {
  for (const v of views.splice(0)) v.stop();
});

const web = {
  namespace: "default",
  name: "web",
  selector: { app: "web" },
  ports: [{ port: 80, targetPort: 8080 }],
};
const pod = (name: string, ip: string, ready?: boolean) => ({
  namespace: "default",
  name,
  node: "node-1",
  ips: [ip],
  labels: { app: "web" },
  ...(ready === undefined ? {} : { ready }),
});
const endpointsOf = (view: ClusterView, name: string) =>
  view
    .entries()
    .find((e) => e.service.name === name)
    ?.endpoints.map((e) => e.ip) ?? [];

describe("ClusterView", () => {
  test("start() lists without announcing it; later events reach every subscriber until it unsubscribes", async () => {
    const s = await store();
    await createService(s, config, web);
    await putPodRecord(s, pod("web-1", "10.244.1.5"));
    const view = new ClusterView(s, quiet);
    views.push(view);
    const heard: [string, ViewChange][] = [];
    const keys: (string[] | undefined)[] = [];
    view.subscribe({
      changed: (c, services) => {
        heard.push(["proxy", c]);
        keys.push(services && [...services]);
      },
    });
    const stopDns = view.subscribe({ changed: (c) => heard.push(["dns", c]) });
    expect(view.listed).toBe(false);
    await view.start();
    await view.start(); // once only
    expect(view.listed).toBe(true);
    expect(heard).toEqual([]);
    expect(endpointsOf(view, "web")).toEqual(["10.244.1.5"]);

    await putPodRecord(s, pod("web-2", "10.244.1.6"));
    await pollUntil("both to hear of the pod", () => heard.length === 2, 3000, { intervalMs: 5 });
    expect(heard).toEqual([
      ["proxy", "pods"],
      ["dns", "pods"],
    ]);
    expect(endpointsOf(view, "web")).toEqual(["10.244.1.5", "10.244.1.6"]);

    stopDns();
    await deleteService(s, "default", "web");
    await pollUntil("the proxy to hear of the Service", () => heard.length === 3, 3000, { intervalMs: 5 });
    expect(heard[2]).toEqual(["proxy", "services"]);
    // Each event names the Services whose entry changed.
    expect(keys).toEqual([["default/web"], ["default/web"]]);
    expect(view.entry("default/web")).toBeUndefined();
    expect(view.entries()).toEqual([]);
    expect(view.counts).toEqual({ services: 0, pods: 2 });
  });

  test("entries hold ready endpoints only", async () => {
    const s = await store();
    await createService(s, config, web);
    await putPodRecord(s, pod("web-1", "10.244.1.5", false));
    await putPodRecord(s, pod("web-2", "10.244.1.6"));
    const view = new ClusterView(s, quiet);
    views.push(view);
    await view.start();
    expect(endpointsOf(view, "web")).toEqual(["10.244.1.6"]);
  });
});
