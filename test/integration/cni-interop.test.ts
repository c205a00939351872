/**
 * Interop with Debian's reference plugins (containernetworking-plugins 1.1.1, CNI up to 1.0.0):
 * podnet-ipam under the reference bridge, host-local under podnet, and podnet chained with
 * tuning and portmap. portmap's iptables rules land in the node namespace, where the chain runs.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { formatIP } from "../../src/ipnet/address.ts";
import { parseInterfaceCIDR } from "../../src/ipnet/prefix.ts";
import type { Conflist, JsonObject } from "../../src/lab/cni-runtime.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { addrsIn, linkIn, podnetVeths } from "./harness/kernel-state.ts";
import { NETWORK, useFreshTestNode } from "./harness/test-node.ts";

interface AddResult {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
}

const ipOf = (r: AddResult, i = 0) => formatIP(parseInterfaceCIDR(r.ips[i]!.address).ip);

describe("interop with the reference plugins", () => {
  const node = useFreshTestNode({ pods: 2 });

  test("the reference bridge plugin attaches pods with podnet-ipam; DEL releases", async () => {
    const n = node();
    const conflist = n.single("1.0.0", {
      type: "bridge",
      bridge: "refbr0",
      isGateway: true,
      ipam: {
        type: "podnet-ipam",
        ranges: [[{ subnet: "10.95.0.0/24" }]],
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir: n.stateDir,
      },
    });
    const rt = n.runtime(conflist);
    const [a, b] = [n.pod(0), n.pod(1)];
    const ra = (await rt.add(n.attachment(a))) as AddResult;
    const rb = (await rt.add(n.attachment(b))) as AddResult;
    expect(ra.cniVersion).toBe("1.0.0");
    expect(ra.ips[0]).toMatchObject({ address: "10.95.0.2/24", gateway: "10.95.0.1" });
    expect(addrsIn(a.netns, "eth0")).toEqual(["10.95.0.2/24"]);
    expect(
      n
        .allocations()
        .map((x) => x.containerId)
        .sort(),
    ).toEqual([a.containerId, b.containerId].sort());

    await n.startEcho(b);
    const probe = await n.probe(a.netns, ipOf(rb));
    expect(probe.reply.from).toBe(ipOf(ra));

    await rt.check(n.attachment(a), ra); // the bridge plugin's CHECK runs podnet-ipam's CHECK
    await rt.del(n.attachment(a), ra);
    await rt.del(n.attachment(a), ra);
    expect(n.allocations().map((x) => x.containerId)).toEqual([b.containerId]);
    expect(linkIn(a.netns, "eth0")).toBeUndefined();
  });

  test("podnet delegates to host-local: ADD allocates its file, CHECK passes, DEL removes it", async () => {
    const n = node();
    const dataDir = `${n.dir}/host-local`;
    const conflist = n.single("1.0.0", {
      type: "podnet",
      mode: "bridge",
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: "10.94.0.0/24" }]],
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir,
      },
    });
    const rt = n.runtime(conflist);
    const pod = n.pod(0);
    const result = (await rt.add(n.attachment(pod))) as AddResult;
    expect(result.ips[0]).toMatchObject({ address: "10.94.0.2/24", gateway: "10.94.0.1", interface: 2 });
    expect(addrsIn(pod.netns, "eth0")).toEqual(["10.94.0.2/24"]);
    const leaseFile = `${dataDir}/${NETWORK}/10.94.0.2`;
    expect(readFileSync(leaseFile, "utf8")).toContain(pod.containerId);

    await rt.check(n.attachment(pod), result);
    await rt.del(n.attachment(pod), result);
    await rt.del(n.attachment(pod), result);
    expect(existsSync(leaseFile)).toBe(false);
    expect(readdirSync(`${dataDir}/${NETWORK}`).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
    expect(n.allocations()).toEqual([]); // podnet's own IPAM was never involved
  });

  test("a chain podnet → tuning → portmap works for ADD, CHECK and DEL with prevResult passed along", async () => {
    const n = node();
    const mac = "0a:58:aa:bb:cc:01";
    // Dual-stack, so the IPv6 port mapping is exercised too.
    const rendered = n.conflist({
      cniVersion: "1.0.0",
      subnets: ["10.99.0.0/24", "fd99::/64"],
      chain: ["tuning", "portmap"],
    });
    const conflist: Conflist = {
      ...rendered,
      plugins: rendered.plugins.map((p) =>
        p.type === "tuning" ? { ...p, mac, sysctl: { "net.ipv4.conf.eth0.arp_notify": "1" } } : p,
      ),
    };
    expect(conflist.plugins.map((p) => p.type)).toEqual(["podnet", "tuning", "portmap"]);
    const rt = n.runtime(conflist);
    const pod = n.pod(0);
    const portMappings = [{ hostPort: 18080, containerPort: 8080, protocol: "tcp" }];
    const attachment = n.attachment(pod, { capabilityArgs: { portMappings } });

    const result = (await rt.add(attachment)) as AddResult;
    // podnet's result made it through both plugins, with tuning's MAC change recorded.
    expect(result.cniVersion).toBe("1.0.0");
    expect(result.interfaces.map((i) => i.name)).toEqual(["podnet0", expect.stringMatching(/^pn/), "eth0"]);
    expect(result.interfaces[2]).toMatchObject({ mac, sandbox: pod.netnsPath });
    expect(linkIn(pod.netns, "eth0")?.address).toBe(mac);
    const sysctl = mustRunSync(inNetns(pod.netns, ["cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify"]));
    expect(sysctl.stdout.trim()).toBe("1");

    const nat = () => mustRunSync(inNetns(n.netns, ["iptables", "-t", "nat", "-S"])).stdout;
    expect(nat()).toContain("CNI-HOSTPORT-DNAT");
    expect(nat()).toMatch(/--dport 18080 .*--to-destination 10\.99\.0\.2:8080/);
    // The mapping really forwards: the node's own address, port 18080, answers from the pod.
    await n.startEcho(pod, 8080);
    const probe = await n.probe(n.netns, "10.99.0.1", { port: 18080 });
    expect(probe.reply.pod).toBe(pod.name);
    expect(probe.reply.ip).toBe(ipOf(result));
    const nat6 = () => mustRunSync(inNetns(n.netns, ["ip6tables", "-t", "nat", "-S"])).stdout;
    expect(nat6()).toMatch(/--dport 18080 .*--to-destination \[fd99::2\]:8080/);
    const probe6 = await n.probe(n.netns, "fd99::1", { port: 18080 });
    expect(probe6.reply.ip).toBe(ipOf(result, 1));

    // CHECK in chain order, each plugin with the final result as prevResult (libcni's way).
    for (const plugin of conflist.plugins) {
      const conf: JsonObject = {
        ...plugin,
        cniVersion: conflist.cniVersion,
        name: conflist.name,
        prevResult: result,
      };
      if (plugin.type === "portmap") conf.runtimeConfig = { portMappings };
      const check = rt.exec(String(plugin.type), "CHECK", conf, attachment);
      if (plugin.type !== "portmap") {
        await check;
        continue;
      }
      // Debian's portmap 1.1.1 cannot pass CHECK: it looks for IPv6 rules built from the IPv4
      // address (and for an IPv4-only pod, for an IPv6 chain that was never made) —
      // containernetworking/plugins#819, fixed upstream after 1.1.1. Anything else is a failure.
      await check.catch((e: unknown) => {
        expect((e as Error).message).toContain("could not check ipv6 dnat");
      });
    }

    await rt.del(attachment, result);
    expect(nat()).not.toContain("18080");
    expect(nat6()).not.toContain("18080");
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
    // A second DEL down the whole chain still succeeds.
    await rt.del(attachment, result);
  });
});
