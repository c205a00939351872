import { expect, test } from "bun:test";
import type { LabNode } from "./lab-state.ts";
import { datastoreIsLocal, labUiHosts, labUiRouters } from "./lab-ui.ts";
import { defaultTopology } from "./topology.ts";

const EXTERNAL = { netns: "pnlab-x-external", address: "203.0.113.100/24" };

/** The lab nodes `lab up` records for `count` nodes of the default topology (what the map needs of them). */
function labNodes(count: number): LabNode[] {
  const topology = defaultTopology(count);
  return topology.nodes.map(
    (spec) =>
      ({
        name: spec.name,
        address: spec.address,
        segment: spec.segment,
        gateway: topology.segments.find((s) => s.name === spec.segment)?.gateway ?? "",
      }) as LabNode,
  );
}

test("the lab's external host is a MapHost, without its prefix length, with its subnet", () => {
  const hosts = labUiHosts({ external: EXTERNAL });
  expect(hosts).toHaveLength(1);
  expect(hosts[0]).toMatchObject({ name: "external", ip: "203.0.113.100", cidr: "203.0.113.0/24" });
});

test("the lab's one router holds every node segment's gateway and its address on the external segment", () => {
  const routers = labUiRouters({ nodes: labNodes(3), external: EXTERNAL });
  expect(routers.map((r) => [r.name, r.addresses])).toEqual([
    ["router", ["192.0.2.1", "198.51.100.1", "203.0.113.1"]],
  ]);
  // One node: the router still joins its segment and the external host's.
  expect(labUiRouters({ nodes: labNodes(1), external: EXTERNAL })[0]?.addresses).toEqual([
    "192.0.2.1",
    "203.0.113.1",
  ]);
  // A node recorded without a gateway adds nothing.
  expect(
    labUiRouters({ nodes: [{ ...labNodes(1)[0], gateway: "" } as LabNode], external: EXTERNAL })[0]
      ?.addresses,
  ).toEqual(["203.0.113.1"]);
});

test("only a SQLite datastore is reachable from the root namespace", () => {
  expect(datastoreIsLocal({ datastore: "sqlite:/run/podnet-lab/x/cluster.db" })).toBe(true);
  expect(datastoreIsLocal({ datastore: "etcd:http://192.0.2.5:2379" })).toBe(false);
});

test("a dual lab's router holds both families' gateways and external addresses", () => {
  const topology = defaultTopology(3, [4, 6]);
  const nodes = topology.nodes.map((spec) => {
    const seg = topology.segments.find((s) => s.name === spec.segment);
    return { name: spec.name, gateway: seg?.gateway ?? "", gateways: seg?.gateways } as LabNode;
  });
  const external = { ...EXTERNAL, addresses: ["203.0.113.100/24", "2001:db8:3::100/64"] };
  expect(labUiRouters({ nodes, external })[0]?.addresses).toEqual([
    "192.0.2.1",
    "2001:db8:1::1",
    "198.51.100.1",
    "2001:db8:2::1",
    "203.0.113.1",
    "2001:db8:3::1",
  ]);
});
