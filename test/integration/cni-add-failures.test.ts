/**
 * CNI.md rule 1: ADD fails if the interface already exists (and the pod that has it is left
 * alone), and a failed ADD leaves nothing behind — no veth on the node, no address held.
 */
import { describe, expect, test } from "bun:test";
import { formatIP } from "../../src/ipnet/address.ts";
import type { JsonObject } from "../../src/lab/cni-runtime.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { hostVethName } from "../../src/plugin/naming.ts";
import { addrsIn, linkIn, podnetVeths } from "./harness/kernel-state.ts";
import { cniFailure, NETWORK, useFreshTestNode } from "./harness/test-node.ts";

const held = (allocs: { containerId: string; ip: { family: 4 | 6 } }[]) =>
  allocs.map((a) => a.containerId).sort();

describe.each(["bridge", "ptp"] as const)("ADD in %s mode", (mode) => {
  const node = useFreshTestNode({ pods: 3 });

  test("fails with code 102 when CNI_IFNAME exists in the netns; the existing pod keeps its address and veth", async () => {
    const n = node();
    const rt = n.runtime(n.conflist({ mode }));
    const owner = n.pod(0);
    await rt.add(n.attachment(owner));
    const before = { addrs: addrsIn(owner.netns, "eth0"), veths: podnetVeths(n.netns).map((l) => l.ifname) };
    expect(before.addrs).toHaveLength(1);
    expect(before.veths).toHaveLength(1);

    // Another container pointed at the same namespace and interface name.
    const intruder = await cniFailure(rt.add(n.attachment(owner, { containerId: "intruder" })));
    expect(intruder.code).toBe(102);
    expect(intruder.msg).toContain('Interface "eth0" already exists');
    // The same container again (a runtime retrying an ADD that had succeeded).
    const repeat = await cniFailure(rt.add(n.attachment(owner)));
    expect(repeat.code).toBe(102);

    expect(addrsIn(owner.netns, "eth0")).toEqual(before.addrs);
    expect(podnetVeths(n.netns).map((l) => l.ifname)).toEqual(before.veths);
    const allocs = n.allocations();
    expect(held(allocs)).toEqual([owner.containerId]);
    expect(`${formatIP(allocs[0]!.ip)}/24`).toBe(before.addrs[0]!.replace(/\/32$/, "/24"));
  });

  test("a repeated ADD asking for another IP fails with 102 and the running pod keeps its address", async () => {
    const n = node();
    const rt = n.runtime(n.conflist({ mode }));
    const owner = n.pod(0);
    await rt.add(n.attachment(owner));
    const before = n.allocations().map((a) => formatIP(a.ip));
    expect(before).toHaveLength(1);
    // A different requested address no longer "fits" what the attachment holds: IPAM must not
    // be asked at all, or it would move the allocation away from the running pod.
    const retry = await cniFailure(
      rt.add(n.attachment(owner, { args: { IgnoreUnknown: "1", IP: "10.99.0.200" } })),
    );
    expect(retry.code).toBe(102);
    expect(n.allocations().map((a) => formatIP(a.ip))).toEqual(before);
    expect(addrsIn(owner.netns, "eth0")[0]?.split("/")[0]).toBe(before[0]);
  });

  test("a host veth left behind by a crashed ADD is replaced, not mistaken for a live pod", async () => {
    const n = node();
    const rt = n.runtime(n.conflist({ mode }));
    const pod = n.pod(0);
    const stray = hostVethName({ network: NETWORK, containerId: pod.containerId, ifname: "eth0" });
    mustRunSync(["ip", "-n", n.netns, "link", "add", stray, "type", "veth", "peer", "name", "leftover"]);
    const result = (await rt.add(n.attachment(pod))) as { interfaces: { name: string }[] };
    expect(result.interfaces.at(-2)?.name).toBe(stray);
    expect(linkIn(n.netns, "leftover")).toBeUndefined();
    expect(linkIn(pod.netns, "eth0")).toBeDefined();
    await rt.check(n.attachment(pod), result);
  });

  test("exhaustion of a two-address range fails with code 100 and leaves no veth and no allocation", async () => {
    const n = node();
    const plugin: JsonObject = {
      type: "podnet",
      mode,
      ipam: {
        type: "podnet-ipam",
        ranges: [[{ subnet: "10.98.0.0/29", rangeStart: "10.98.0.2", rangeEnd: "10.98.0.3" }]],
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir: n.stateDir,
      },
    };
    const rt = n.runtime(n.single("1.1.0", plugin));
    await rt.add(n.attachment(n.pod(0)));
    await rt.add(n.attachment(n.pod(1)));
    const failure = await cniFailure(rt.add(n.attachment(n.pod(2))));
    expect(failure.code).toBe(100);
    expect(failure.msg).toBe('Cannot allocate address in "10.98.0.0/29": range is exhausted');

    expect(podnetVeths(n.netns)).toHaveLength(2);
    expect(linkIn(n.pod(2).netns, "eth0")).toBeUndefined();
    expect(held(n.allocations())).toEqual([n.pod(0).containerId, n.pod(1).containerId].sort());

    // Releasing one address makes room again: the range really was just full.
    await rt.del(n.attachment(n.pod(0)));
    await rt.add(n.attachment(n.pod(2)));
    expect(held(n.allocations())).toEqual([n.pod(1).containerId, n.pod(2).containerId].sort());
  });

  test("ADD into a netns path that does not exist fails with code 3 and allocates nothing", async () => {
    const n = node();
    const rt = n.runtime(n.conflist({ mode }));
    const missing = `/run/netns/${n.prefix}-missing`;
    const failure = await cniFailure(rt.add({ containerId: "ghost", ifname: "eth0", netnsPath: missing }));
    expect(failure.code).toBe(3);
    expect(failure.msg).toContain(missing);
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
  });

  test("a kernel failure inside the pod (unreachable route gateway) removes the veth and releases the address", async () => {
    const n = node();
    const plugin: JsonObject = {
      type: "podnet",
      mode,
      ipam: {
        type: "podnet-ipam",
        ranges: [[{ subnet: "10.97.0.0/24" }]],
        // 192.0.2.1 is on no link of the pod, so the kernel refuses the route.
        routes: [{ dst: "198.51.100.0/24", gw: "192.0.2.1" }],
        dataDir: n.stateDir,
      },
    };
    const rt = n.runtime(n.single("1.1.0", plugin));
    const failure = await cniFailure(rt.add(n.attachment(n.pod(0))));
    expect(failure.code).toBe(105);
    expect(failure.msg).toContain("192.0.2.1");
    expect(podnetVeths(n.netns)).toEqual([]);
    expect(linkIn(n.pod(0).netns, "eth0")).toBeUndefined();
    expect(n.allocations(NETWORK)).toEqual([]);
  });
});
