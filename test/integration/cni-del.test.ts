/**
 * CNI.md rule 2: DEL is best-effort and idempotent. Repeated DEL, DEL with an empty CNI_NETNS,
 * DEL after the pod's namespace vanished and DEL of an unknown container all exit 0, and the
 * address is released whenever one was held.
 */
import { describe, expect, test } from "bun:test";
import { formatIP } from "../../src/ipnet/address.ts";
import { parseInterfaceCIDR } from "../../src/ipnet/prefix.ts";
import { linkIn, podnetVeths, routesIn } from "./harness/kernel-state.ts";
import { type TestNode, useFreshTestNode } from "./harness/test-node.ts";

interface AddResult {
  interfaces: { name: string }[];
  ips: { address: string }[];
}

describe.each(["bridge", "ptp"] as const)("DEL in %s mode", (mode) => {
  const node = useFreshTestNode({ pods: 2 });

  const setup = async (n: TestNode) => {
    const rt = n.runtime(n.conflist({ mode, subnets: ["10.99.0.0/24", "fd99::/64"] }));
    const results = [] as AddResult[];
    for (const p of n.pods) results.push((await rt.add(n.attachment(p))) as AddResult);
    return { rt, results };
  };

  /** Nothing of pod #i is left: no allocation, no host veth, no host route, no eth0. */
  const expectGone = (n: TestNode, i: number, result: AddResult) => {
    const pod = n.pod(i);
    expect(n.allocations().filter((a) => a.containerId === pod.containerId)).toEqual([]);
    expect(linkIn(n.netns, result.interfaces.at(-2)!.name)).toBeUndefined();
    for (const ip of result.ips) {
      const addr = parseInterfaceCIDR(ip.address).ip;
      const host = routesIn(n.netns, addr.family).filter((r) => r.dst.split("/")[0] === formatIP(addr));
      expect(host).toEqual([]);
    }
  };

  /** The other pod is untouched. */
  const expectIntact = (n: TestNode, i: number) => {
    const pod = n.pod(i);
    expect(n.allocations().filter((a) => a.containerId === pod.containerId)).toHaveLength(2);
    expect(linkIn(pod.netns, "eth0")).toBeDefined();
    expect(podnetVeths(n.netns)).toHaveLength(1);
  };

  test("repeated DEL succeeds and the first one releases everything", async () => {
    const n = node();
    const { rt, results } = await setup(n);
    await rt.del(n.attachment(n.pod(0)), results[0]);
    await rt.del(n.attachment(n.pod(0)), results[0]);
    await rt.del(n.attachment(n.pod(0)));
    expectGone(n, 0, results[0]!);
    expect(linkIn(n.pod(0).netns, "eth0")).toBeUndefined();
    expectIntact(n, 1);
  });

  test("DEL with an empty CNI_NETNS still removes the veth (from the host side) and releases", async () => {
    const n = node();
    const { rt, results } = await setup(n);
    await rt.del(n.attachment(n.pod(0), { netnsPath: "" }));
    expectGone(n, 0, results[0]!);
    expect(linkIn(n.pod(0).netns, "eth0")).toBeUndefined();
    expectIntact(n, 1);
  });

  test("DEL after the pod's namespace was deleted succeeds and releases the address", async () => {
    const n = node();
    const { rt, results } = await setup(n);
    n.deletePodNetns(n.pod(0));
    await rt.del(n.attachment(n.pod(0)), results[0]);
    await rt.del(n.attachment(n.pod(0), { netnsPath: "" }), results[0]);
    expectGone(n, 0, results[0]!);
    expectIntact(n, 1);
  });

  test("DEL of a container that was never added succeeds and changes nothing", async () => {
    const n = node();
    const { rt } = await setup(n);
    const before = n.allocations().map((a) => formatIP(a.ip));
    await rt.del({ containerId: "never-added", ifname: "eth0", netnsPath: `/run/netns/${n.prefix}-none` });
    await rt.del({ containerId: n.pod(0).containerId, ifname: "eth1", netnsPath: n.pod(0).netnsPath });
    expect(n.allocations().map((a) => formatIP(a.ip))).toEqual(before);
    expect(podnetVeths(n.netns)).toHaveLength(2);
  });
});
