/**
 * The service proxy inside the node agent keeping the kernel right as things change: a UDP
 * endpoint replaced (stale conntrack entries), a table deleted behind its back, a partial sync
 * the kernel refuses, and a UDP flow older than its Service — on the cluster of proxy-agent.test.ts
 * (proxy-cluster.ts), checked with real packets, nftables maps and conntrack entries. The table
 * is read under whichever of its two names is live (harness/proxy-table.ts).
 */
import { describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import { readClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import { createService, deleteService } from "../../src/cluster/service-store.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { NAMES } from "../../src/proxy/nft-names.ts";
import { echo, NODES, RESYNC, reach, service, udp, useProxyCluster, WEB } from "./harness/proxy-cluster.ts";
import { liveTableIn, mustLiveTableIn, nftOnLiveTable, proxyTablesIn } from "./harness/proxy-table.ts";

/** UDP conntrack entries of `ns` from client port `sport` to `dst`, as `conntrack -L` lines. */
function udpFlows(ns: string, dst: string, sport: number): string[] {
  const r = mustRunSync(inNetns(ns, ["conntrack", "-L", "-p", "udp", "--orig-dst", dst]));
  return r.stdout.split("\n").filter((l) => l.includes(` sport=${sport} `));
}

/** podnet's tables of the ip family in `ns`, of either name, hooked or not. */
const podnetTables = (ns: string) => [...proxyTablesIn(ns, "ip").present];

/** The elements of one of the live table's maps, normalized for comparison. */
function mapElements(ns: string, map: string): string[] {
  const out = nftOnLiveTable(ns, "ip", ["-j", "list", "map"], [map]).stdout;
  const items = JSON.parse(out).nftables as { map?: { elem?: unknown[] } }[];
  return (items.find((i) => i.map)?.map?.elem ?? []).map((e) => JSON.stringify(e)).sort();
}

const UDP_CLIENT_PORT = 40053;

describe("service proxy in the node agent: resyncs, repairs and conntrack", () => {
  const { cluster, pods, store, logs, pod, clusterIP, netns, metric, fullSyncs } = useProxyCluster();

  test("UDP endpoint replaced: stale conntrack entries go, the same client port reaches the new pod", async () => {
    const c = cluster();
    const client = pod("client");
    const a = pod("dns-a");
    const ip = clusterIP("dns");
    const opts = { udp: true, localPort: UDP_CLIENT_PORT, timeoutMs: 1000 } as const;
    const first = await reach(client.netns, ip, 53, opts);
    expect([first.reply.pod, first.replyFrom, first.localPort]).toEqual(["dns-a", ip, UDP_CLIENT_PORT]);
    // The client's node DNATed the flow: its entry answers from dns-a.
    expect(udpFlows(netns("node2"), ip, UDP_CLIENT_PORT).join("\n")).toContain(`src=${a.ip} `);
    const stale = "podnet_proxy_stale_udp_entries_deleted_total";
    const staleBefore = await metric("node2", stale, 0);
    process.kill(first.reply.pid, "SIGTERM");
    await c.runtime("node1").del({ containerId: a.containerId, ifname: "eth0", netnsPath: a.netnsPath });
    // Without the deletion the entry would live on for nf_conntrack_udp_timeout (30 s).
    const gone = await pollUntil(
      "node2 to delete the conntrack entry towards dns-a",
      () => udpFlows(netns("node2"), ip, UDP_CLIENT_PORT).length === 0,
      5000,
      { detail: () => `${udpFlows(netns("node2"), ip, UDP_CLIENT_PORT).join("\n")}\n${logs()}` },
    );
    expect(await metric("node2", stale)).toBeGreaterThan(staleBefore);
    const b = await c.addPod("node1", { name: "dns-b", labels: { app: "dns" } });
    pods.set("dns-b", b);
    const { value: next, ms } = await pollUntil(
      "the same client port to reach dns-b",
      async () => {
        const r = await echo(client.netns, ip, 53, opts);
        if (r.ok && r.probe.reply.pod !== "dns-b") throw new Error(`answered by ${r.probe.reply.pod}`);
        return r.ok && r.probe;
      },
      5000,
      { detail: logs },
    );
    console.log(`stale entry deleted ${gone.ms} ms after DEL; dns-b answered ${ms} ms after its ADD`);
    expect([next.replyFrom, next.reply.ip, next.localPort]).toEqual([ip, b.ip, UDP_CLIENT_PORT]);
    const flows = udpFlows(netns("node2"), ip, UDP_CLIENT_PORT);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toContain(`src=${b.ip} `);
  });

  test("a deleted table is put back in full within a few resync periods and Services work again", async () => {
    const ns = netns("node1");
    const fullBefore = await fullSyncs("node1");
    const elements = mapElements(ns, NAMES.serviceIps);
    // Whichever name the last full sync left it under (linux/nft-table-family.ts).
    const deleted = mustLiveTableIn(ns);
    mustRunSync(inNetns(ns, ["nft", "delete", "table", "ip", deleted]));
    expect(podnetTables(ns)).toEqual([]);
    const { value: restored, ms } = await pollUntil(
      "node1's agent to restore its table",
      () => liveTableIn(ns),
      3 * RESYNC * 1000,
      { detail: () => `tables: ${podnetTables(ns).join(", ") || "none"}\n${logs()}` },
    );
    console.log(
      `table restored as ip ${restored} ${ms} ms after ip ${deleted} was deleted (resync ${RESYNC} s)`,
    );
    // With no table of either name left, the full sync builds under the first name.
    expect(restored).toBe("podnet");
    expect(mapElements(ns, NAMES.serviceIps)).toEqual(elements);
    const p = await reach(ns, clusterIP("web"), 80);
    expect([p.replyFrom, WEB.includes(p.reply.pod)]).toEqual([clusterIP("web"), true]);
    expect(await fullSyncs("node1")).toBeGreaterThan(fullBefore);
  });

  test("a partial sync the kernel refuses is answered with a full sync", async () => {
    const doomed = clusterIP("doomed");
    const nftErrors = 'podnet_proxy_errors_total{kind="nft"}';
    const errorsBefore = await metric("node1", nftErrors);
    const [full1, full2] = [await fullSyncs("node1"), await fullSyncs("node2")];
    // The kernel loses an element the agent believes it has: deleting it again must fail.
    const element = `{ ${doomed} . tcp . 80 }`;
    nftOnLiveTable(netns("node1"), "ip", ["delete", "element"], [NAMES.serviceIps, element]);
    await deleteService(store(), "default", "doomed");
    const gone = (node: string) =>
      !mapElements(netns(node), NAMES.serviceIps).some((e) => e.includes(doomed));
    await pollUntil(
      "node1 to fail its partial sync and replace the table",
      async () => (await metric("node1", nftErrors)) > errorsBefore && (await fullSyncs("node1")) > full1,
      5000,
      { detail: logs },
    );
    await pollUntil("node2 to drop the Service", () => gone("node2"), 5000, { detail: logs });
    expect(gone("node1")).toBe(true);
    expect(await fullSyncs("node2")).toBe(full2);
    const [map1, map2] = NODES.map((n) => mapElements(netns(n), NAMES.serviceIps));
    expect(map1).toEqual(map2 as string[]);
    expect((await reach(netns("node1"), clusterIP("web"), 80)).replyFrom).toBe(clusterIP("web"));
  });

  test("a UDP flow that began before its Service existed is translated once the Service has endpoints", async () => {
    // A static-band address no dynamic allocation hands out; no Service holds it yet.
    const ip = "10.96.0.123";
    const port = UDP_CLIENT_PORT + 1;
    const client = pod("client");
    const early = await echo(client.netns, ip, 53, { udp: true, localPort: port, timeoutMs: 500 });
    expect(early.ok).toBe(false);
    // node2 routed the datagrams out untranslated and conntrack keeps that flow: every further
    // datagram of it would go the same way (kube-proxy clears such entries too).
    const stuck = udpFlows(netns("node2"), ip, port);
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toContain(`src=${ip} `);
    const s = store();
    const config = await readClusterConfig(s);
    if (!config) throw new Error("no cluster config");
    await createService(s, config, service("late", "web", [{ ...udp, port: 53 }], { clusterIPs: [ip] }));
    try {
      const { value: p, ms } = await pollUntil(
        "the same client port to reach a web pod through the new Service",
        async () => {
          const r = await echo(client.netns, ip, 53, { udp: true, localPort: port, timeoutMs: 500 });
          return r.ok && r.probe;
        },
        5000,
        { detail: () => `${udpFlows(netns("node2"), ip, port).join("\n")}\n${logs()}` },
      );
      console.log(`the early UDP flow was answered ${ms} ms after the Service was created`);
      expect(p.replyFrom).toBe(ip);
      expect(WEB).toContain(p.reply.pod);
    } finally {
      await deleteService(s, "default", "late");
    }
  });
});
