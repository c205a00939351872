import { describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { claimBlocks } from "../cluster/block-leases.ts";
import { ClusterNotInitializedError, initClusterConfig } from "../cluster/cluster-config-store.ts";
import { NODES_PREFIX } from "../cluster/keys.ts";
import { announceNode } from "../cluster/node-registry.ts";
import { PODS_PREFIX, putPodRecord } from "../cluster/pod-records.ts";
import { createService } from "../cluster/service-store.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { readClusterSnapshot } from "./snapshot-reader.ts";

const store = useTempStores("podnet-snapshot");

describe("readClusterSnapshot", () => {
  test("an empty datastore is not a cluster yet", async () => {
    const s = await store();
    await expect(readClusterSnapshot(s)).rejects.toBeInstanceOf(ClusterNotInitializedError);
  });

  test("config, nodes, leased blocks, pods, Services with endpoints and broken records", async () => {
    const s = await store();
    const config = await initClusterConfig(
      s,
      buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
    );
    const lease = await s.grantLease(60);
    const before = Date.now();
    const [block1] = await claimBlocks(s, config, "node1", lease.id);
    const [block2] = await claimBlocks(s, config, "node2", lease.id);
    const b1 = formatPrefix(block1 ?? expect.unreachable());
    const b2 = formatPrefix(block2 ?? expect.unreachable());
    // node2's agent is gone: its block stays, without a lease, as after a restart within grace.
    await s.put(`/podnet/blocks/${b2.replace("/", "-")}`, JSON.stringify({ node: "node2", block: b2 }));
    for (const [name, ip, block] of [
      ["node1", "192.0.2.11", b1],
      ["node2", "192.0.2.12", b2],
    ] as const)
      await announceNode(
        s,
        { name, nodeIPs: [ip], blocks: [block], backend: "auto", vtepMac: "02:00:00:00:00:01" },
        lease.id,
      );
    const ip1 = b1.replace(/0\/24$/, "2");
    const ip2 = b2.replace(/0\/24$/, "2");
    await putPodRecord(s, {
      namespace: "default",
      name: "web-b",
      node: "node2",
      ips: [ip2],
      labels: { app: "web" },
    });
    await putPodRecord(s, {
      namespace: "default",
      name: "web-a",
      node: "node1",
      ips: [ip1],
      labels: { app: "web" },
    });
    await putPodRecord(s, {
      namespace: "default",
      name: "db",
      node: "node1",
      ips: ["10.244.200.9"],
      labels: {},
    });
    const web = await createService(s, config, {
      namespace: "default",
      name: "web",
      ports: [{ port: 80, targetPort: 8080, nodePort: "auto" }],
      selector: { app: "web" },
    });
    await createService(s, config, {
      namespace: "default",
      name: "empty",
      ports: [{ port: 80 }],
      selector: { app: "x" },
    });
    await s.put(`${NODES_PREFIX}broken`, "{not json");
    await s.put(`${PODS_PREFIX}node1/default/bad`, JSON.stringify({ namespace: "default" }));

    const snap = await readClusterSnapshot(s);
    expect(snap.store).toBe(s.description);
    expect(snap.revision).toBeGreaterThan(0);
    expect(Date.parse(snap.readAt)).toBeGreaterThanOrEqual(before);
    expect(snap.config).toEqual({
      clusterCidrs: ["10.244.0.0/16"],
      serviceCidrs: ["10.96.0.0/16"],
      nodeBlockLength: { "4": 24 },
    });
    expect(snap.nodes.map((n) => `${n.name} ${n.nodeIPs.join()} ${n.blocks.join()}`)).toEqual([
      `node1 192.0.2.11 ${b1}`,
      `node2 192.0.2.12 ${b2}`,
    ]);
    const byBlock = new Map(snap.blocks.map((b) => [b.block, b]));
    expect(byBlock.get(b1)?.node).toBe("node1");
    expect(byBlock.get(b1)?.leased).toBe(true);
    const claimed = Date.parse(byBlock.get(b1)?.claimedAt ?? "");
    expect(claimed).toBeGreaterThanOrEqual(before - 1000);
    expect(claimed).toBeLessThanOrEqual(Date.now());
    expect(byBlock.get(b2)).toEqual({ block: b2, node: "node2", leased: false });
    expect(snap.pods.map((p) => `${p.namespace}/${p.name}@${p.node}`)).toEqual([
      "default/db@node1",
      "default/web-a@node1",
      "default/web-b@node2",
    ]);
    expect(snap.services.map((v) => v.service.name)).toEqual(["empty", "web"]);
    const webView = snap.services.find((v) => v.service.name === "web");
    expect(webView?.service.clusterIPs).toEqual(web.clusterIPs);
    expect(webView?.endpoints).toEqual([
      { ip: ip1, node: "node1", pod: "default/web-a" },
      { ip: ip2, node: "node2", pod: "default/web-b" },
    ]);
    expect(snap.services.find((v) => v.service.name === "empty")?.endpoints).toEqual([]);
    expect(snap.invalid).toHaveLength(2);
    expect(snap.invalid.join("\n")).toContain(`${NODES_PREFIX}broken`);
    expect(snap.invalid.join("\n")).toContain("default/bad");
    // Plain data: what --json prints survives a round trip.
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  test("the block's claim time is kept when a restarted agent re-attaches it", async () => {
    const s = await store();
    const config = await initClusterConfig(s, buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"] }));
    const first = await s.grantLease(60);
    const [block] = await claimBlocks(s, config, "node1", first.id);
    const text = formatPrefix(block ?? expect.unreachable());
    const key = `/podnet/blocks/${text.replace("/", "-")}`;
    const long = "2020-01-01T00:00:00.000Z";
    await s.put(key, JSON.stringify({ node: "node1", block: text, claimedAt: long }), { lease: first.id });
    const again = await s.grantLease(60);
    await claimBlocks(s, config, "node1", again.id);
    expect((await s.get(key))?.lease).toBe(again.id);
    expect((await readClusterSnapshot(s)).blocks).toEqual([
      { block: text, node: "node1", claimedAt: long, leased: true },
    ]);
    // A record with an unreadable time still counts as the node's block, without a time.
    await s.put(key, JSON.stringify({ node: "node1", block: text, claimedAt: "yesterday" }));
    expect((await readClusterSnapshot(s)).blocks).toEqual([{ block: text, node: "node1", leased: false }]);
  });
});
