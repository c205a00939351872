import { describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { NODE_PORT_MAX, NODE_PORT_MIN } from "../k8s/service-model.ts";
import { NodePortUnavailableError } from "./service-errors.ts";
import {
  allocateNodePort,
  holderValue,
  listNodePorts,
  nodePortKey,
  releaseIfHeld,
} from "./service-node-ports.ts";

const store = useTempStores("podnet-nodeport");

describe("allocateNodePort", () => {
  test("concurrent automatic allocations get distinct ports inside the range", async () => {
    const s = await store();
    const ports = await Promise.all(
      Array.from({ length: 40 }, (_, i) => allocateNodePort(s, "TCP", `default/svc-${i}`)),
    );
    expect(new Set(ports).size).toBe(40);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(NODE_PORT_MIN);
      expect(p).toBeLessThanOrEqual(NODE_PORT_MAX);
    }
    expect((await listNodePorts(s, "TCP")).length).toBe(40);
  });

  test("a requested port is given once per protocol; released only by its holder", async () => {
    const s = await store();
    expect(await allocateNodePort(s, "UDP", "a/dns", 30053)).toBe(30053);
    await expect(allocateNodePort(s, "UDP", "b/other", 30053)).rejects.toThrow(
      'Cannot allocate NodePort 30053/UDP: already allocated to Service "a/dns"',
    );
    expect(await allocateNodePort(s, "TCP", "b/other", 30053)).toBe(30053);
    expect(await releaseIfHeld(s, nodePortKey("UDP", 30053), "b/other")).toBe(false);
    expect(await releaseIfHeld(s, nodePortKey("UDP", 30053), "a/dns")).toBe(true);
    expect(await allocateNodePort(s, "UDP", "b/other", 30053)).toBe(30053);
    expect(await listNodePorts(s)).toEqual([
      { protocol: "TCP", port: 30053, service: "b/other" },
      { protocol: "UDP", port: 30053, service: "b/other" },
    ]);
  });

  test("a port outside 30000–32767 is refused", async () => {
    const s = await store();
    await expect(allocateNodePort(s, "TCP", "a/b", 8080)).rejects.toBeInstanceOf(NodePortUnavailableError);
  });

  test("the last free port is found from any start, and a full range is refused", async () => {
    const s = await store();
    const free = 31234;
    const puts = [];
    for (let p = NODE_PORT_MIN; p <= NODE_PORT_MAX; p++)
      if (p !== free)
        puts.push({ kind: "put" as const, key: nodePortKey("SCTP", p), value: holderValue("x/full") });
    await s.txn([], puts);
    expect(await allocateNodePort(s, "SCTP", "y/last", undefined, () => 0.999)).toBe(free);
    await expect(allocateNodePort(s, "SCTP", "z/none", undefined, () => 0)).rejects.toThrow(
      "Cannot allocate a NodePort for SCTP: every port from 30000 to 32767 is taken",
    );
  });
});
