import { describe, expect, test } from "bun:test";
import { LabelSets } from "./label-sets.ts";

describe("LabelSets", () => {
  test("equal label sets come back as one object, different ones as themselves", () => {
    const sets = new LabelSets();
    const a = { app: "web", tier: "front" };
    expect(sets.share(a)).toBe(a);
    expect(sets.share({ app: "web", tier: "front" })).toBe(a);
    // Key order does not matter; a missing, extra or different label does.
    expect(sets.share({ tier: "front", app: "web" })).toEqual(a);
    const fewer = { app: "web" };
    expect(sets.share(fewer)).toBe(fewer);
    const more = { app: "web", tier: "front", x: "1" };
    expect(sets.share(more)).toBe(more);
    const other = { app: "web", tier: "back" };
    expect(sets.share(other)).toBe(other);
    expect(sets.share({ app: "web" })).toBe(fewer);
    const empty = {};
    expect(sets.share(empty)).toBe(empty);
    expect(sets.share({})).toBe(empty);
  });

  test("a first label shared by many different sets is compared with a bounded number of them", () => {
    const sets = new LabelSets();
    const all = Array.from({ length: 20 }, (_, i) => ({ app: "web", hash: String(i) }));
    for (const l of all) expect(sets.share(l)).toBe(l);
    // The first ones are shared; the later ones were not kept, so an equal copy stays itself.
    expect(sets.share({ app: "web", hash: "0" })).toBe(all[0] as (typeof all)[number]);
    const late = { app: "web", hash: "19" };
    expect(sets.share(late)).toBe(late);
  });
});
