import { expect, test } from "bun:test";
import { datastoreIsLocal, labUiHosts } from "./lab-ui.ts";

test("the lab's external host is a MapHost, without its prefix length", () => {
  const hosts = labUiHosts({ external: { netns: "pnlab-x-external", address: "198.51.100.10/24" } });
  expect(hosts).toHaveLength(1);
  expect(hosts[0]).toMatchObject({ name: "external", ip: "198.51.100.10" });
});

test("only a SQLite datastore is reachable from the root namespace", () => {
  expect(datastoreIsLocal({ datastore: "sqlite:/run/podnet-lab/x/cluster.db" })).toBe(true);
  expect(datastoreIsLocal({ datastore: "etcd:http://192.0.2.5:2379" })).toBe(false);
});
