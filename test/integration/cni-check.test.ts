/**
 * CHECK compares the cached ADD result with the kernel: it passes on a healthy pod and fails,
 * naming the problem, once the pod lost its address, its default route or its interface.
 */
import { describe, expect, test } from "bun:test";
import { mustRunSync } from "../../src/linux/exec.ts";
import { cniFailure, type TestNode, useTestNode } from "./harness/test-node.ts";

interface AddResult {
  interfaces: { name: string }[];
  ips: { address: string }[];
}

describe.each(["bridge", "ptp"] as const)("CHECK in %s mode", (mode) => {
  const node = useTestNode();

  /** A fresh pod of its own for each test, as each test breaks it differently. */
  const attached = async (n: TestNode) => {
    const pod = n.addPod();
    const rt = n.runtime(n.conflist({ mode, subnets: ["10.99.0.0/24", "fd99::/64"] }));
    const result = (await rt.add(n.attachment(pod))) as AddResult;
    const check = () => rt.check(n.attachment(pod), result);
    return { pod, result, check };
  };

  test("passes on a healthy pod, also repeatedly", async () => {
    const { check } = await attached(node());
    await check();
    await check();
  });

  test("fails naming the address after the pod's address was removed", async () => {
    const n = node();
    const { pod, result, check } = await attached(n);
    const v4 = result.ips[0]!.address;
    mustRunSync(["ip", "-n", pod.netns, "addr", "del", v4, "dev", "eth0"]);
    const failure = await cniFailure(check());
    expect(failure.code).toBe(103);
    expect(failure.msg).toContain(v4);
  });

  test("fails naming the route after the pod's default route was deleted", async () => {
    const n = node();
    const { pod, check } = await attached(n);
    mustRunSync(["ip", "-n", pod.netns, "-6", "route", "del", "default"]);
    const failure = await cniFailure(check());
    expect(failure.code).toBe(103);
    expect(failure.msg).toContain("route to ::/0");
  });

  test("fails naming the interface after it was deleted", async () => {
    const n = node();
    const { pod, check } = await attached(n);
    mustRunSync(["ip", "-n", pod.netns, "link", "del", "eth0"]);
    const failure = await cniFailure(check());
    expect(failure.code).toBe(103);
    expect(failure.msg).toMatch(/interface "eth0" .* is missing/);
  });

  test("fails when the interface is down", async () => {
    const n = node();
    const { pod, check } = await attached(n);
    mustRunSync(["ip", "-n", pod.netns, "link", "set", "eth0", "down"]);
    const failure = await cniFailure(check());
    expect(failure.code).toBe(103);
    expect(failure.msg).toMatch(/interface "eth0" .* is down/);
  });

  test("fails with code 3 when the pod's namespace is gone", async () => {
    const n = node();
    const { pod, check } = await attached(n);
    n.deletePodNetns(pod);
    const failure = await cniFailure(check());
    expect(failure.code).toBe(3);
    expect(failure.msg).toContain(pod.netnsPath);
  });

  if (mode === "bridge") {
    test("fails when the host veth is no longer a port of the bridge", async () => {
      const n = node();
      const { result, check } = await attached(n);
      const veth = result.interfaces.at(-2)!.name;
      mustRunSync(["ip", "-n", n.netns, "link", "set", veth, "nomaster"]);
      const failure = await cniFailure(check());
      expect(failure.code).toBe(103);
      expect(failure.msg).toContain(`"${veth}" is not a port of bridge "podnet0"`);
    });
  }
});
