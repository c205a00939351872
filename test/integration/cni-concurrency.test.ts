/**
 * CNI.md rule 3: runtimes run ADD and DEL for different containers at the same time. Twenty at
 * once must give twenty distinct, working addresses, and twenty DELs must release them all.
 * "Working" is proved with real connections between a sample of the pods, both families.
 */
import { describe, expect, test } from "bun:test";
import { formatIP, parseIP } from "../../src/ipnet/address.ts";
import { parseInterfaceCIDR } from "../../src/ipnet/prefix.ts";
import { addrsIn, linkIn, podnetVeths } from "./harness/kernel-state.ts";
import { useTestNode } from "./harness/test-node.ts";

const PODS = 20;
// Spread over the pods: which ADDs ran first (and raced to create the bridge) is not known.
const SAMPLE = [0, 5, 10, 14, 19];

const norm = (ip: string): string => formatIP(parseIP(ip));

interface AddResult {
  ips: { address: string }[];
}

describe.each(["bridge", "ptp"] as const)("%s mode", (mode) => {
  const node = useTestNode({ pods: PODS });

  test(`${PODS} concurrent ADDs get ${PODS} distinct addresses; ${PODS} concurrent DELs release them all`, async () => {
    const n = node();
    const rt = n.runtime(n.conflist({ mode, subnets: ["10.99.0.0/24", "fd99::/64"] }));
    // The first ADDs race to create the bridge and turn forwarding on, too.
    const results = (await Promise.all(n.pods.map((p) => rt.add(n.attachment(p))))) as AddResult[];

    const fromResults = results.map((r) => r.ips.map((i) => formatIP(parseInterfaceCIDR(i.address).ip)));
    const v4 = fromResults.map((ips) => ips[0]);
    const v6 = fromResults.map((ips) => ips[1]);
    expect(new Set(v4).size).toBe(PODS);
    expect(new Set(v6).size).toBe(PODS);

    // The kernel agrees with the results, pod by pod.
    n.pods.forEach((p, i) => {
      const inKernel = addrsIn(p.netns, "eth0").map((a) => a.split("/")[0]);
      expect(inKernel.sort()).toEqual([...(fromResults[i] ?? [])].sort());
    });
    expect(podnetVeths(n.netns)).toHaveLength(PODS);
    const allocs = n.allocations();
    expect(allocs).toHaveLength(2 * PODS);
    expect(new Set(allocs.map((a) => formatIP(a.ip))).size).toBe(2 * PODS);

    // Each sampled pod connects to the next one in a ring over both families: the server must be
    // the pod the result names, reached at its result address, and see the client's result address.
    const sample = SAMPLE.map((i) => ({ pod: n.pod(i), ips: fromResults[i] ?? [] }));
    await Promise.all(sample.map((s) => n.startEcho(s.pod)));
    const probes = sample.flatMap((client, k) => {
      const server = sample[(k + 1) % sample.length] ?? client;
      return [0, 1].map(async (family) => {
        const target = server.ips[family] ?? "";
        const probe = await n.probe(client.pod.netns, target);
        return { probe, server: server.pod.name, target, source: client.ips[family] ?? "" };
      });
    });
    const answered = await Promise.all(probes);
    expect(answered).toHaveLength(2 * SAMPLE.length);
    for (const { probe, server, target, source } of answered) {
      expect(probe.reply.pod).toBe(server);
      expect(norm(probe.reply.ip)).toBe(target);
      expect(norm(probe.reply.from)).toBe(source);
    }

    await Promise.all(n.pods.map((p) => rt.del(n.attachment(p))));
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
    for (const p of n.pods) expect(linkIn(p.netns, "eth0")).toBeUndefined();
  });
});
