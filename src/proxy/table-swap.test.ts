import { describe, expect, test } from "bun:test";
import type { ElementLayout } from "../linux/netlink/nft-element-types.ts";
import { GOLDEN_CASES } from "./golden-cases.ts";
import { netlinkLayout } from "./kernel-commands.ts";
import { renderRuleset } from "./ruleset.ts";
import { rulesetContent, tableText } from "./table-content.ts";
import { planSwap } from "./table-swap.ts";

const content = (name: keyof typeof GOLDEN_CASES) => rulesetContent(renderRuleset(GOLDEN_CASES[name]));

describe("planSwap", () => {
  test("builds an inert table under the free name and hooks it in the swap", () => {
    const plan = planSwap(content("nodeport"), "podnet", "podnet-b", netlinkLayout);
    expect(plan.target).toBe("podnet-b");
    expect(
      plan.build.startsWith("add table ip podnet-b\ndelete table ip podnet-b\ntable ip podnet-b {\n"),
    ).toBe(true);
    // Nothing in the build hooks the table: no packet sees it before the swap.
    expect(plan.build).not.toContain(" hook ");
    expect(plan.build).toContain("\tchain services {\n");
    expect(plan.swap.split("\n")).toEqual([
      "add table ip podnet",
      "delete table ip podnet",
      "add chain ip podnet-b nat-prerouting { type nat hook prerouting priority -100; policy accept; }",
      "add rule ip podnet-b nat-prerouting jump services",
      "add chain ip podnet-b nat-output { type nat hook output priority -100; policy accept; }",
      "add rule ip podnet-b nat-output jump services",
      "add chain ip podnet-b nat-postrouting { type nat hook postrouting priority 100; policy accept; }",
      "add rule ip podnet-b nat-postrouting meta mark & 0x00004000 == 0x00004000 meta mark set meta mark ^ 0x00004000 masquerade fully-random",
      "add rule ip podnet-b nat-postrouting ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random",
      "add rule ip podnet-b nat-postrouting ip saddr @pod-cidrs ip daddr != @no-masquerade masquerade fully-random",
      "add chain ip podnet-b filter-prerouting { type filter hook prerouting priority -90; policy accept; }",
      "add rule ip podnet-b filter-prerouting ct state new jump reject-check",
      "add chain ip podnet-b filter-output { type filter hook output priority -90; policy accept; }",
      "add rule ip podnet-b filter-output ct state new jump reject-check",
      "",
    ]);
  });

  test("sends the elements of plain sets and maps over netlink, leaves interval sets to nft", () => {
    const plan = planSwap(content("nodeport"), undefined, "podnet", netlinkLayout);
    const loaded = new Map(plan.loads.map((l) => [l.name, l.elements]));
    expect(loaded.get("service-endpoints-tcp")).toEqual([
      "10.96.0.10 . 80 . 0 : 10.244.1.5 . 8080",
      "10.96.0.10 . 80 . 1 : 10.244.2.7 . 8080",
    ]);
    expect(loaded.get("service-ips")).toEqual(["10.96.0.10 . tcp . 80 : goto endpoints-tcp-2"]);
    expect(loaded.get("hairpin")).toEqual(["10.244.1.5 . 10.244.1.5", "10.244.2.7 . 10.244.2.7"]);
    expect(loaded.has("pod-cidrs")).toBe(false);
    // Empty sets are declared, not loaded.
    expect(loaded.has("service-endpoints-udp")).toBe(false);
    expect(plan.build).toContain("\t\telements = {\n\t\t\t10.244.0.0/16\n\t\t}\n");
    expect(plan.build).not.toContain("10.244.1.5 . 8080");
    // With no table in use, nothing is deleted.
    expect(plan.swap.startsWith("add chain ip podnet ")).toBe(true);
  });

  test("without netlink the build carries every element, every set and every other chain; the swap every base chain", () => {
    const c = content("client-ip-affinity");
    const plan = planSwap(c, "podnet-b", "podnet", (): ElementLayout | undefined => undefined);
    expect(plan.loads).toEqual([]);
    const elementLines = (text: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith("\t\t\t"))
        .sort();
    expect(elementLines(plan.build)).toEqual(elementLines(tableText(c, "podnet")));
    for (const { set } of c.sets) expect(plan.build).toContain(`\t${set.kind} ${set.name} {\n`);
    let base = 0;
    for (const chain of c.chains) {
      if (chain.hook) {
        base++;
        expect(plan.build).not.toContain(`\tchain ${chain.name} {`);
        expect(plan.swap).toContain(
          `add chain ip podnet ${chain.name} { type ${chain.hook.type} hook ${chain.hook.hook} `,
        );
        for (const rule of chain.rules)
          expect(plan.swap).toContain(`add rule ip podnet ${chain.name} ${rule}\n`);
      } else {
        expect(plan.build).toContain(
          `\tchain ${chain.name} {\n${chain.rules.map((r) => `\t\t${r}\n`).join("")}\t}\n`,
        );
      }
    }
    expect(base).toBe(5);
    expect(
      plan.swap.startsWith("add table ip podnet-b\ndelete table ip podnet-b\nadd chain ip podnet "),
    ).toBe(true);
  });

  test("sets with flags (interval, timeouts filled by packets) stay with nft", () => {
    const c = content("client-ip-affinity");
    const affinity = c.sets.find((s) => s.set.name.startsWith("aff-"));
    if (affinity === undefined) throw new Error("the affinity case has no affinity set");
    const withElement = {
      ...c,
      sets: [...c.sets.filter((s) => s !== affinity), { ...affinity, elements: ["10.0.0.1"] }],
    };
    const plan = planSwap(withElement, undefined, "podnet", netlinkLayout);
    expect(plan.loads.map((l) => l.name)).not.toContain(affinity.set.name);
    expect(plan.build).toContain("\t\telements = {\n\t\t\t10.0.0.1\n\t\t}\n");
    expect(plan.loads.map((l) => l.name)).toContain("service-ips");
  });

  test("refuses to build under the name in use", () => {
    expect(() => planSwap(content("nodeport"), "podnet", "podnet", netlinkLayout)).toThrow(RangeError);
  });
});
