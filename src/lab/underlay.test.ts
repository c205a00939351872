import { describe, expect, test } from "bun:test";
import { renderBatch } from "../linux/ip.ts";
import { defaultTopology } from "./topology.ts";
import type { UnderlayStep } from "./underlay.ts";
import { planUnderlay, topologyFamilies, underlayHosts } from "./underlay.ts";

const NAMES = {
  switchNetns: (s: string) => `t-sw-${s}`,
  routerNetns: "t-router",
  hostNetns: (h: string) => `t-${h}`,
};

/** The steps as the lines they run: "netns NS", "sysctl NS KEY=VALUE", or "NS: ip batch line". */
function lines(steps: readonly UnderlayStep[]): string[] {
  return steps.flatMap((s) => {
    if (s.kind === "netns") return [`netns ${s.netns}`];
    if (s.kind === "sysctl") return [`sysctl ${s.netns} ${s.key}=${s.value}`];
    return renderBatch(s.commands)
      .trimEnd()
      .split("\n")
      .map((l) => `${s.netns}: ${l}`);
  });
}

function planOf(families: readonly (4 | 6)[]): string[] {
  const t = defaultTopology(3, families);
  return lines(planUnderlay(t, NAMES, [...t.nodes, t.external]));
}

describe("planUnderlay", () => {
  test("IPv4 only: as before, with nothing of IPv6", () => {
    const plan = planOf([4]);
    expect(plan).toContain("t-sw-lan1: link add name br0 type bridge");
    expect(plan).toContain("sysctl t-router net.ipv4.ip_forward=1");
    expect(plan).toContain("t-router: addr add 192.0.2.1/24 dev r-lan1");
    expect(plan).toContain("t-node1: addr add 192.0.2.11/24 dev eth0");
    expect(plan).toContain("t-node1: route add default via 192.0.2.1");
    expect(plan.filter((l) => /nodad|mcast_snooping|ipv6|2001:/.test(l))).toEqual([]);
  });

  test("dual: both addresses (IPv6 nodad), a default route per family, v6 forwarding, no RAs, no snooping", () => {
    const plan = planOf([4, 6]);
    expect(plan).toContain("t-sw-ext: link add name br0 type bridge mcast_snooping 0");
    expect(plan).toContain("sysctl t-router net.ipv4.ip_forward=1");
    expect(plan).toContain("sysctl t-router net.ipv6.conf.all.forwarding=1");
    expect(plan).toContain("t-router: addr add 2001:db8:2::1/64 dev r-lan2 nodad");
    const node3 = plan.filter((l) => l.startsWith("t-node3: "));
    expect(node3).toEqual([
      "t-node3: addr add 198.51.100.13/24 dev eth0",
      "t-node3: addr add 2001:db8:2::13/64 dev eth0 nodad",
      "t-node3: link set dev eth0 up",
      "t-node3: route add default via 198.51.100.1",
      "t-node3: route add default via 2001:db8:2::1",
    ]);
    // Router advertisements are off before the host's eth0 exists (it inherits "default").
    const ra = plan.indexOf("sysctl t-external net.ipv6.conf.default.accept_ra=0");
    const veth = plan.findIndex((l) => l.includes("peer name eth0 netns t-external"));
    expect(ra).toBeGreaterThan(plan.indexOf("netns t-external"));
    expect(ra).toBeLessThan(veth);
    expect(plan).toContain("sysctl t-node1 net.ipv6.conf.all.accept_ra=0");
  });

  test("IPv6 only: no IPv4 forwarding or address anywhere", () => {
    const plan = planOf([6]);
    expect(plan).toContain("t-node1: route add default via 2001:db8:1::1");
    expect(plan).toContain("t-external: addr add 2001:db8:3::100/64 dev eth0 nodad");
    expect(plan.filter((l) => /ipv4|192\.0\.2|198\.51|203\.0/.test(l))).toEqual([]);
  });

  test("the families come from the segments' ranges", () => {
    expect(topologyFamilies(defaultTopology(1, [4, 6]))).toEqual([4, 6]);
    expect(topologyFamilies(defaultTopology(1, [6]))).toEqual([6]);
    expect(topologyFamilies(defaultTopology(1))).toEqual([4]);
  });
});

describe("the VM", () => {
  test("a host like the others: plugged into lan2, its addresses, a default route per family via lan2's router", () => {
    const t = defaultTopology(3, [4, 6], { vpcHost: true });
    const plan = lines(planUnderlay(t, NAMES, underlayHosts(t, { datastore: false })));
    expect(plan).toContain("netns t-vm");
    expect(plan).toContain("sysctl t-vm net.ipv6.conf.default.accept_ra=0");
    expect(plan).toContain("t-sw-lan2: link add name p-vm type veth peer name eth0 netns t-vm");
    expect(plan).toContain("t-sw-lan2: link set dev p-vm master br0");
    expect(plan.filter((l) => l.startsWith("t-vm: "))).toEqual([
      "t-vm: addr add 198.51.100.50/24 dev eth0",
      "t-vm: addr add 2001:db8:2::50/64 dev eth0 nodad",
      "t-vm: link set dev eth0 up",
      "t-vm: route add default via 198.51.100.1",
      "t-vm: route add default via 2001:db8:2::1",
    ]);
  });

  test("the hosts: nodes, external, the datastore's only with etcd, the VM only when the topology has one", () => {
    const names = (t: ReturnType<typeof defaultTopology>, datastore: boolean) =>
      underlayHosts(t, { datastore }).map((h) => h.name);
    expect(names(defaultTopology(2), false)).toEqual(["node1", "node2", "external"]);
    expect(names(defaultTopology(2), true)).toEqual(["node1", "node2", "external", "datastore"]);
    expect(names(defaultTopology(2, [4], { vpcHost: true }), true)).toEqual([
      "node1",
      "node2",
      "external",
      "datastore",
      "vm",
    ]);
  });
});
