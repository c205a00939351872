/**
 * ADD in bridge and ptp mode, IPv4-only and dual-stack: the result's shape for every supported
 * config version, the kernel state it describes, and real connections between two pods.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { formatIP, parseIP, tryParseIP } from "../../src/ipnet/address.ts";
import { containsIP, parseInterfaceCIDR, parsePrefix } from "../../src/ipnet/prefix.ts";
import { addrsIn, linkIn, routesIn } from "./harness/kernel-state.ts";
import { type TestPod, useTestNode } from "./harness/test-node.ts";

type Mode = "bridge" | "ptp";
type Version = "0.4.0" | "1.0.0" | "1.1.0";
const VERSIONS: readonly Version[] = ["1.1.0", "1.0.0", "0.4.0"];
const MTU = 1400;
const V4 = { subnet: "10.99.0.0/24", gateway: "10.99.0.1", defaultDst: "0.0.0.0/0" };
const V6 = { subnet: "fd99::/64", gateway: "fd99::1", defaultDst: "::/0" };

interface AddResult {
  cniVersion: string;
  interfaces: { name: string; mac?: string; mtu?: number; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number; version?: string }[];
  routes: { dst: string; gw?: string }[];
}

const norm = (ip: string): string => formatIP(parseIP(ip));
const normCidr = (cidr: string): string => {
  const { ip, prefix } = parseInterfaceCIDR(cidr);
  return `${formatIP(ip)}/${prefix.length}`;
};

const cases: { mode: Mode; stack: "ipv4" | "dual" }[] = [
  { mode: "bridge", stack: "ipv4" },
  { mode: "bridge", stack: "dual" },
  { mode: "ptp", stack: "ipv4" },
  { mode: "ptp", stack: "dual" },
];

describe.each(cases)("ADD in $mode mode, $stack", ({ mode, stack }) => {
  const node = useTestNode({ pods: VERSIONS.length });
  const families = stack === "dual" ? [V4, V6] : [V4];
  const results = new Map<Version, { pod: TestPod; result: AddResult }>();

  beforeAll(async () => {
    // One pod per config version, all on the same node and network.
    for (const [i, cniVersion] of VERSIONS.entries()) {
      const pod = node().pod(i);
      const rt = node().runtime(
        node().conflist({ mode, subnets: families.map((f) => f.subnet), mtu: MTU, cniVersion }),
      );
      results.set(cniVersion, { pod, result: (await rt.add(node().attachment(pod))) as AddResult });
    }
  });

  const get = (v: Version) => {
    const r = results.get(v);
    if (!r) throw new Error(`no ADD result for ${v}`);
    return r;
  };

  test.each(VERSIONS)("the result of a %s config has that version and the CNI shape", (v) => {
    const { pod, result } = get(v);
    expect(result.cniVersion).toBe(v);

    const expectedInterfaces = mode === "bridge" ? 3 : 2;
    expect(result.interfaces).toHaveLength(expectedInterfaces);
    const podIndex = expectedInterfaces - 1;
    const podItf = result.interfaces[podIndex]!;
    expect(podItf.name).toBe("eth0");
    expect(podItf.sandbox).toBe(pod.netnsPath);
    expect(podItf.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const hostItf = result.interfaces[podIndex - 1]!;
    expect(hostItf.name).toMatch(/^pn[0-9a-f]{12}$/);
    expect(hostItf.sandbox).toBeUndefined();
    if (mode === "bridge") expect(result.interfaces[0]).toMatchObject({ name: "podnet0" });
    // Interface mtu is a 1.1 field: older results must not carry it.
    for (const itf of result.interfaces) expect(itf.mtu).toBe(v === "1.1.0" ? MTU : undefined);

    expect(result.ips).toHaveLength(families.length);
    for (const [i, fam] of families.entries()) {
      const ip = result.ips[i]!;
      const { ip: addr, prefix } = parseInterfaceCIDR(ip.address);
      expect(containsIP(parsePrefix(fam.subnet), addr)).toBe(true);
      expect(prefix.length).toBe(
        mode === "ptp" ? (addr.family === 4 ? 32 : 128) : addr.family === 4 ? 24 : 64,
      );
      expect(ip.gateway && norm(ip.gateway)).toBe(fam.gateway);
      expect(ip.interface).toBe(podIndex);
      // 0.4.0 results carry ips[].version; 1.x dropped it.
      expect(ip.version).toBe(v === "0.4.0" ? String(addr.family) : undefined);
    }
    for (const fam of families) {
      expect(
        result.routes.some(
          (r) => r.dst === fam.defaultDst && r.gw !== undefined && norm(r.gw) === fam.gateway,
        ),
      ).toBe(true);
    }
  });

  test("the kernel state inside every pod is what its result says", () => {
    for (const v of VERSIONS) {
      const { pod, result } = get(v);
      const podItf = result.interfaces.at(-1)!;
      const link = linkIn(pod.netns, "eth0");
      expect(link, `eth0 in ${pod.netns}`).toBeDefined();
      expect(link!.address).toBe(podItf.mac!);
      expect(link!.mtu).toBe(MTU);
      expect(link!.flags).toContain("UP");
      expect(addrsIn(pod.netns, "eth0")).toEqual(result.ips.map((i) => normCidr(i.address)).sort());
      for (const fam of families) {
        const family = fam === V4 ? 4 : 6;
        const def = routesIn(pod.netns, family).find((r) => r.dst === "default");
        expect(def?.gateway && norm(def.gateway), `default route of ${pod.netns}`).toBe(fam.gateway);
        expect(def?.dev).toBe("eth0");
        if (mode === "ptp") {
          // A /32 has no on-link gateway, so ptp declares it reachable on the link.
          const onLink = routesIn(pod.netns, family).find(
            (r) => tryParseIP(r.dst.replace(/\/(32|128)$/, ""))?.value === parseIP(fam.gateway).value,
          );
          expect(onLink, `on-link route to ${fam.gateway} in ${pod.netns}`).toBeDefined();
          expect(onLink!.gateway).toBeUndefined();
          expect(onLink!.dev).toBe("eth0");
        }
      }
    }
  });

  test("the host side: veth MTU and MAC, bridge port with hairpin / ptp host routes", () => {
    const n = node();
    for (const v of VERSIONS) {
      const { result } = get(v);
      const hostItf = result.interfaces.at(-2)!;
      const veth = linkIn(n.netns, hostItf.name, true);
      expect(veth, `host veth ${hostItf.name}`).toBeDefined();
      expect(veth!.mtu).toBe(MTU);
      expect(veth!.address).toBe(hostItf.mac!);
      expect(veth!.flags).toContain("UP");
      if (mode === "bridge") {
        expect(veth!.master).toBe("podnet0");
        expect(veth!.linkinfo?.info_slave_kind).toBe("bridge");
        expect(veth!.linkinfo?.info_slave_data?.hairpin).toBe(true);
      } else {
        for (const ip of result.ips) {
          const { ip: addr } = parseInterfaceCIDR(ip.address);
          const route = routesIn(n.netns, addr.family).find(
            (r) => r.dst === formatIP(addr) || r.dst === `${formatIP(addr)}/128`,
          );
          expect(route?.dev, `host route to ${ip.address}`).toBe(hostItf.name);
        }
        expect(addrsIn(n.netns, hostItf.name)).toEqual(
          families.map((f) => `${f.gateway}/${f === V4 ? 32 : 128}`).sort(),
        );
      }
    }
    if (mode === "bridge") {
      const bridge = linkIn(n.netns, "podnet0", true);
      expect(bridge?.linkinfo?.info_kind).toBe("bridge");
      expect(bridge?.address).toBe(get("1.1.0").result.interfaces[0]!.mac!);
      expect(addrsIn(n.netns, "podnet0")).toEqual(
        families.map((f) => `${f.gateway}/${f === V4 ? 24 : 64}`).sort(),
      );
    }
  });

  test("CHECK passes for every pod with its own version's result as prevResult", async () => {
    for (const v of VERSIONS) {
      const { pod, result } = get(v);
      const rt = node().runtime(
        node().conflist({ mode, subnets: families.map((f) => f.subnet), mtu: MTU, cniVersion: v }),
      );
      await rt.check(node().attachment(pod), result);
    }
  });

  test("two pods reach each other at once, directly, and see each other's pod address (no NAT)", async () => {
    const n = node();
    const a = get("1.1.0");
    const b = get("1.0.0");
    await n.startEcho(b.pod);
    for (const [i] of families.entries()) {
      const target = parseInterfaceCIDR(b.result.ips[i]!.address).ip;
      const source = parseInterfaceCIDR(a.result.ips[i]!.address).ip;
      // Well under TCP's 1 s SYN retransmission: the first packets must not be dropped while
      // the kernel runs IPv6 duplicate address detection on the new links.
      const probe = await n.probe(a.pod.netns, formatIP(target), { timeoutMs: 900 });
      expect(probe.reply.pod).toBe(b.pod.name);
      expect(norm(probe.reply.ip)).toBe(formatIP(target));
      expect(norm(probe.reply.from)).toBe(formatIP(source));
    }
    // The node reaches the pod too (it is the pods' gateway).
    const probe = await n.probe(n.netns, formatIP(parseInterfaceCIDR(b.result.ips[0]!.address).ip));
    expect(probe.reply.pod).toBe(b.pod.name);
    expect(probe.reply.from).toBe(V4.gateway);
  });
});
