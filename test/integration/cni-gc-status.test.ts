/**
 * CNI 1.1 GC and STATUS. GC releases every attachment the runtime does not list as valid (and
 * removes its host side), accepts the legacy key, and refuses to guess when the list is missing.
 * STATUS says whether an ADD could be served now.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { Conflist, JsonObject } from "../../src/lab/cni-runtime.ts";
import { linkIn, podnetVeths } from "./harness/kernel-state.ts";
import { cniFailure, NETWORK, type TestNode, type TestPod, useFreshTestNode } from "./harness/test-node.ts";

const OTHER = "pntest-other";

describe("GC", () => {
  const node = useFreshTestNode({ pods: 4 });

  /** p0 is alive; p1 and p2 lost their namespaces; p3's namespace exists but the runtime dropped it. */
  const scenario = async (n: TestNode) => {
    const conflist = n.conflist({ cniVersion: "1.1.0" });
    const rt = n.runtime(conflist);
    for (const p of n.pods) await rt.add(n.attachment(p));
    // A second network on the same node and state dir, which GC of the first must not touch.
    const other = n.addPod();
    const otherList = n.conflist({ name: OTHER, subnets: ["10.98.0.0/24"], bridge: "podnet1" });
    await n.runtime(otherList).add(n.attachment(other));
    n.deletePodNetns(n.pod(1));
    n.deletePodNetns(n.pod(2));
    // p0, p3 and other stay; p1's and p2's veths die with their namespaces (asynchronously).
    await pollUntil("the veths of deleted namespaces to go", () => podnetVeths(n.netns).length === 3, 5000);
    return { conflist, rt, other };
  };

  const gcConf = (conflist: Conflist, extra: JsonObject): JsonObject => ({
    ...pluginConf(conflist),
    ...extra,
  });

  const expectOnlyLiveKept = (n: TestNode, other: TestPod) => {
    expect(n.allocations().map((a) => a.containerId)).toEqual([n.pod(0).containerId]);
    expect(linkIn(n.pod(0).netns, "eth0")).toBeDefined();
    expect(linkIn(n.pod(3).netns, "eth0")).toBeUndefined();
    // Left on the node: p0's veth and the other network's.
    const aliases = podnetVeths(n.netns).map((l) => l.ifalias ?? "");
    expect(aliases.sort()).toEqual(
      [`podnet:${NETWORK}:${n.pod(0).containerId}:eth0`, `podnet:${OTHER}:${other.containerId}:eth0`].sort(),
    );
    expect(n.allocations(OTHER).map((a) => a.containerId)).toEqual([other.containerId]);
  };

  test("with cni.dev/valid-attachments releases every attachment not listed and removes its host side", async () => {
    const n = node();
    const { rt, other } = await scenario(n);
    await rt.gc([{ containerId: n.pod(0).containerId, ifname: "eth0" }]);
    expectOnlyLiveKept(n, other);
    // Running it again finds nothing more to do.
    await rt.gc([{ containerId: n.pod(0).containerId, ifname: "eth0" }]);
    expectOnlyLiveKept(n, other);
  });

  test("accepts the legacy cni.dev/attachments key", async () => {
    const n = node();
    const { conflist, rt, other } = await scenario(n);
    const valid = [{ containerID: n.pod(0).containerId, ifname: "eth0" }];
    await rt.exec("podnet", "GC", gcConf(conflist, { "cni.dev/attachments": valid }));
    expectOnlyLiveKept(n, other);
  });

  test("without either key fails with code 7 and releases nothing", async () => {
    const n = node();
    const { conflist, rt } = await scenario(n);
    const before = n.allocations().map((a) => a.containerId);
    const veths = podnetVeths(n.netns).map((l) => l.ifname);
    const failure = await cniFailure(rt.exec("podnet", "GC", gcConf(conflist, {})));
    expect(failure.code).toBe(7);
    expect(failure.msg).toContain("cni.dev/valid-attachments");
    expect(n.allocations().map((a) => a.containerId)).toEqual(before);
    expect(podnetVeths(n.netns).map((l) => l.ifname)).toEqual(veths);
  });
});

describe("STATUS", () => {
  const node = useFreshTestNode();

  test("succeeds with no output when the state dir is usable", async () => {
    const n = node();
    const conflist = n.conflist({ cniVersion: "1.1.0" });
    const run = await n.runtime(conflist).exec("podnet", "STATUS", pluginConf(conflist));
    expect(run.result.code).toBe(0);
    expect(run.output).toBeUndefined();
    const ipam = await n.runtime(conflist).exec("podnet-ipam", "STATUS", pluginConf(conflist));
    expect(ipam.result.code).toBe(0);
  });

  test("fails with code 50 naming the path when the state dir cannot be used", async () => {
    const n = node();
    const file = `${n.dir}/not-a-directory`;
    writeFileSync(file, "");
    const conflist = n.conflist({ cniVersion: "1.1.0", dataDir: `${file}/state` });
    const rt = n.runtime(conflist);
    const main = await cniFailure(rt.status());
    expect(main.code).toBe(50);
    expect(main.msg).toContain(`${file}/state`);
    // podnet-ipam standalone answers the same.
    const ipam = await cniFailure(
      rt.exec("podnet-ipam", "STATUS", {
        cniVersion: "1.1.0",
        name: NETWORK,
        type: "x",
        ipam: conflist.plugins[0]?.ipam,
      }),
    );
    expect(ipam.code).toBe(50);
    expect(ipam.msg).toContain(`${file}/state`);
  });

  test("with an agent's readyFile: not ready (50) until the agent writes it, then ready", async () => {
    const n = node();
    const readyFile = `${n.dir}/agent-ready`;
    const conflist = n.conflist({ cniVersion: "1.1.0", readyFile });
    const rt = n.runtime(conflist);
    const before = await cniFailure(rt.status());
    expect(before.code).toBe(50);
    expect(before.msg).toContain("node agent has not programmed it yet");
    // A marker left by an agent that is no longer running does not count (pid 2^22+1 is above
    // the kernel's pid_max ceiling, so no process can have it).
    writeFileSync(readyFile, JSON.stringify({ pid: 4194305 }));
    const stale = await cniFailure(rt.status());
    expect(stale.code).toBe(50);
    expect(stale.msg).toContain("no longer running");
    writeFileSync(readyFile, JSON.stringify({ pid: process.pid }));
    await rt.status();
  });
});

/** The podnet plugin's config as a runtime sends it for STATUS. */
function pluginConf(conflist: Conflist): JsonObject {
  return { ...conflist.plugins[0], cniVersion: conflist.cniVersion, name: conflist.name };
}

describe("GC and STATUS with a delegated IPAM", () => {
  const node = useFreshTestNode();

  // Debian's host-local (1.1.1) knows no CNI 1.1.0, so it refuses both verbs: what podnet
  // reports proves it forwarded them (CNI.md rule 4) instead of answering for the delegate.
  const hostLocal = (n: TestNode): Conflist =>
    n.single("1.1.0", {
      type: "podnet",
      ipam: { type: "host-local", ranges: [[{ subnet: "10.94.0.0/24" }]], dataDir: `${n.dir}/host-local` },
    });

  test("STATUS is forwarded: the delegate's refusal makes podnet not ready (code 50)", async () => {
    const n = node();
    const failure = await cniFailure(n.runtime(hostLocal(n)).status());
    expect(failure.code).toBe(50);
    expect(failure.msg).toContain('IPAM plugin "host-local" STATUS failed');
  });

  test("GC is forwarded, and the delegate's failure is reported (code 5)", async () => {
    const n = node();
    const failure = await cniFailure(n.runtime(hostLocal(n)).gc([]));
    expect(failure.code).toBe(5);
    expect(failure.msg).toContain(`GC of network "${NETWORK}"`);
    expect(failure.details).toContain('IPAM plugin "host-local" GC failed');
  });
});
