import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { useTempStores } from "../../test/support/temp-store.ts";
import { pollUntil } from "../base/poll-until.ts";
import { listBlockLeases } from "../cluster/block-leases.ts";
import { listNodes } from "../cluster/node-registry.ts";
import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { parseIP } from "../ipnet/address.ts";
import { formatPrefix, type IPPrefix } from "../ipnet/prefix.ts";
import type { Store } from "../store/store.ts";
import { agentMetrics } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import { NodeRegistration } from "./node-registration.ts";

const store = useTempStores("podnet-node-registration");
const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"] });
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function setup(s: Store, nodeName: string, existingStateDir?: string) {
  const uplink = { nodeIPs: [parseIP("192.0.2.11")] };
  const stateDir = existingStateDir ?? mkdtempSync(`${tmpdir()}/podnet-node-registration-state-`);
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const options = { nodeName, backend: "auto", stateDir, leaseTtlSeconds: 5, blockGraceSeconds: 60 };
  const events: string[] = [];
  const registration = new NodeRegistration(
    s,
    options as unknown as AgentOptions,
    {
      config: () => config,
      nodeIPs: () => uplink.nodeIPs,
      blocksChanged: (blocks) => events.push(`blocks ${blocks.map(formatPrefix).join()}`),
      registeredAgain: () => events.push("registered again"),
    },
    quiet,
    agentMetrics(new Metrics({ processMetrics: false })),
  );
  cleanups.push(() => registration.stop());
  return { registration, events, uplink, stateDir };
}

describe("NodeRegistration", () => {
  test("leases a block, announces the node on its lease, and a restart gets the same block", async () => {
    const s = await store();
    const first = setup(s, "node1");
    const [block] = await first.registration.leaseBlocks();
    await first.registration.announce();
    const { nodes } = await listNodes(s);
    expect(nodes).toEqual([first.registration.record()]);
    expect(nodes[0]?.blocks).toEqual([formatPrefix(block as IPPrefix)]);
    expect(first.registration.announcedCurrent).toBe(true);
    first.uplink.nodeIPs = [parseIP("192.0.2.51")];
    expect(first.registration.announcedCurrent).toBe(false);
    first.registration.stop();
    // Another cluster CIDR block is free too, yet the restarted agent gets its own back.
    const restarted = setup(s, "node1", first.stateDir);
    expect((await restarted.registration.leaseBlocks()).map(formatPrefix)).toEqual([
      formatPrefix(block as IPPrefix),
    ]);
  });

  test("a node lease lost under a running agent: registered again with the same block", async () => {
    const s = await store();
    const { registration, events } = setup(s, "node1");
    const before = (await registration.leaseBlocks()).map(formatPrefix);
    await registration.announce();
    const lostLease = registration.leaseId;
    await s.revoke(lostLease); // what an expiry does: the record goes with the lease
    expect((await listNodes(s)).nodes).toEqual([]);
    registration.keepAlive(10);
    await pollUntil(
      "the node to be registered again",
      async () => (await listNodes(s)).nodes.length === 1,
      5000,
    );
    expect(registration.leaseId).not.toBe(lostLease);
    expect(registration.blocks.map(formatPrefix)).toEqual(before);
    expect(events).toEqual(["registered again"]);
    const { leases } = await listBlockLeases(s);
    expect(leases.map((l) => `${formatPrefix(l.block)}=${l.node}`)).toEqual([`${before[0]}=node1`]);
  });

  test("blocks lost and taken by another node: new blocks are claimed and the node set up again", async () => {
    const s = await store();
    const one = setup(s, "node1");
    const [mine] = (await one.registration.leaseBlocks()).map(formatPrefix);
    await one.registration.announce();
    // The block lease expires while the node is cut off, and another node takes the block.
    await s.revoke((one.registration as unknown as { blockLeaseId: string }).blockLeaseId);
    expect((await listBlockLeases(s)).leases).toEqual([]);
    const thief = setup(s, "node2");
    // node2 asks for node1's old block first, as a restarted node asks for its own.
    await Bun.write(`${thief.stateDir}/agent.json`, JSON.stringify({ blocks: [mine] }));
    const [stolen] = (await thief.registration.leaseBlocks()).map(formatPrefix);
    expect(stolen).toBe(mine);
    one.registration.keepAlive(10);
    await pollUntil("new blocks", async () => one.events.length === 2, 5000);
    const now = one.registration.blocks.map(formatPrefix);
    expect(now).not.toEqual([mine]);
    expect(one.events).toEqual([`blocks ${now.join()}`, "registered again"]);
    const owners = (await listBlockLeases(s)).leases.map((l) => `${formatPrefix(l.block)}=${l.node}`).sort();
    expect(owners).toEqual([`${mine}=node2`, `${now[0]}=node1`].sort());
  });
});
