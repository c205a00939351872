import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { SelectorIndex } from "./selector-index.ts";

describe("SelectorIndex", () => {
  test("finds the items under any term of a label set, each once", () => {
    const index = new SelectorIndex<string>();
    index.addLabels({ app: "web", tier: "front" }, "p1");
    index.addLabels({ app: "web" }, "p2");
    index.add("app", "db", "s1");
    const found = new Set<string>();
    index.collect({ app: "web", tier: "front", other: "x" }, found);
    expect([...found].sort()).toEqual(["p1", "p2"]);
    expect([...index.withTerm("tier", "front")]).toEqual(["p1"]);
    expect([index.count("app", "web"), index.count("app", "db"), index.count("app", "none")]).toEqual([
      2, 1, 0,
    ]);
    index.deleteLabels({ app: "web", tier: "front" }, "p1");
    expect([...index.withTerm("app", "web")]).toEqual(["p2"]);
    expect(index.terms).toBe(2);
  });

  test("buckets of every size (one item, a few, many) agree with a Set per term (seeded random)", () => {
    const random = mulberry32(99);
    const index = new SelectorIndex<string>();
    const model = new Map<string, Set<string>>();
    const terms: [string, string][] = [
      ["a", "1"],
      ["a", "2"],
      ["b", "1"],
    ];
    for (let step = 0; step < 20000; step++) {
      const [key, value] = terms[Math.floor(random() * terms.length)] as [string, string];
      const term = `${key}=${value}`;
      // Sizes wander between 0 and about 40 items: past the array limit and back.
      const item = `i${Math.floor(random() * 40)}`;
      const items = model.get(term) ?? new Set<string>();
      if (random() < 0.5) {
        index.add(key, value, item);
        items.add(item);
      } else {
        index.delete(key, value, item);
        items.delete(item);
      }
      if (items.size === 0) model.delete(term);
      else model.set(term, items);
      expect(new Set(index.withTerm(key, value))).toEqual(items);
      expect(index.count(key, value)).toBe(items.size);
      expect(index.terms).toBe(model.size);
    }
  });
});
