/**
 * The per-Service proxy state against the real kernel: a long random sequence of Service changes
 * (random-changes.ts: collisions, affinity, NodePorts coming and going, node changes) turned into
 * transactions by ProxyState and applied in one namespace as the agent applies them (KernelCommands:
 * partial syncs through the long-lived `nft -i`, one line each, long ones through `nft -f`), while
 * another namespace gets a full sync of renderRuleset's table for the same input. Along the way and at the end the
 * two tables must be the same, as the kernel lists them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../../src/linux/exec.ts";
import { inNetns, netnsExists } from "../../src/linux/netns.ts";
import { fullSync, planText } from "../../src/proxy/diff.ts";
import { KernelCommands } from "../../src/proxy/kernel-commands.ts";
import { ProxyState } from "../../src/proxy/proxy-state.ts";
import { RandomCluster } from "../../src/proxy/random-changes.ts";
import { renderRuleset } from "../../src/proxy/ruleset.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { proxyTableListing } from "./harness/proxy-table.ts";
import { TestRun } from "./harness/test-run.ts";

let testRun: TestRun | undefined;
let live = "";
let reference = "";

beforeAll(() => {
  testRun = new TestRun();
  live = testRun.createNetns("live").name;
  reference = testRun.createNetns("ref").name;
});

afterAll(() => {
  testRun?.dispose();
  expect(netnsExists(live)).toBe(false);
  expect(netnsExists(reference)).toBe(false);
});

async function apply(netns: string, name: string, text: string): Promise<void> {
  const path = join(testRun?.dir ?? "/nonexistent", `${name}.nft`);
  writeFileSync(path, text);
  const r = await run(inNetns(netns, ["nft", "-f", path]), { timeoutMs: 60_000 });
  if (r.code !== 0)
    throw new Error(`nft refused ${name} in ${netns}: ${r.stderr.trim()}\n${text.slice(0, 2000)}`);
}

describe("ProxyState's transactions on a real kernel", () => {
  test("300 random steps applied in part leave the table a full sync of the same input gives", async () => {
    const cluster = new RandomCluster(mulberry32(7), 300);
    for (let i = 0; i < 150; i++) cluster.step();
    const state = new ProxyState("ip");
    const kernel = new KernelCommands({ prefix: inNetns(live, []), netnsPath: `/run/netns/${live}` });
    try {
      const first = state.update(cluster.node, new Map(cluster.entries));
      if (first.kind !== "full") throw new Error(`the first update gave a ${first.kind} sync`);
      state.useTable((await kernel.replaceTable(first.content)).table);
      expect(state.table).toBe("podnet");
      let partials = 0;
      let fulls = 0;
      let compared = 0;
      for (let step = 1; step <= 300; step++) {
        const plan = state.update(cluster.node, cluster.step());
        if (plan.kind === "partial") {
          partials++;
          await kernel.applyTransaction(plan.text, "partial").catch((e: unknown) => {
            throw new Error(`step ${step}: ${String(e)}\n${plan.text.slice(0, 2000)}`);
          });
        } else if (plan.kind === "full") {
          // Built beside the old table under the other name, elements over netlink, then swapped in.
          const before = state.table;
          fulls++;
          state.useTable((await kernel.replaceTable(plan.content)).table);
          expect(state.table).not.toBe(before);
          expect(await kernel.proxyTables("ip")).toEqual([state.table]);
        }
        if (step % 60 !== 0) continue;
        await apply(
          reference,
          `reference-${step}`,
          planText(fullSync(renderRuleset({ ...cluster.node, services: cluster.services() }))),
        );
        expect(await proxyTableListing(live, state.table)).toEqual(
          await proxyTableListing(reference, "podnet"),
        );
        compared++;
      }
      expect(compared).toBe(5);
      // Most steps are partial syncs: the sequence tests them, not full ones.
      expect(partials).toBeGreaterThan(250);
      expect((await proxyTableListing(live, state.table)).length).toBeGreaterThan(20);
      // The final state in full once more (step 300 was compared): swapped in under the other name,
      // the same table, the old one gone.
      const before = state.table;
      state.markUnknown();
      const again = state.update(cluster.node, []);
      if (again.kind !== "full") throw new Error(`markUnknown gave a ${again.kind} sync`);
      state.useTable((await kernel.replaceTable(again.content)).table);
      expect(state.table).not.toBe(before);
      expect(await kernel.proxyTables("ip")).toEqual([state.table]);
      expect(await proxyTableListing(live, state.table)).toEqual(
        await proxyTableListing(reference, "podnet"),
      );
      console.log(`proxy-state-kernel: ${partials} partial syncs, ${fulls} full ones in the sequence`);
    } finally {
      await kernel.close();
    }
  }, 300_000);
});
