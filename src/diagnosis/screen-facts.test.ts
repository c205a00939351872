import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { screenFacts } from "./screen-facts.ts";

describe("screenFacts", () => {
  test("intact facts all pass", () => {
    const s = screenFacts(LAB_SNAPSHOT, LAB_FACTS);
    expect(s.facts.map((f) => f.node)).toEqual(LAB_FACTS.map((f) => f.node));
    expect(s.missing).toEqual([]);
  });

  test("a node whose neighbour state is a string, not a list, is left out and named, the others kept", () => {
    const broken = LAB_FACTS.map((f) =>
      f.node === "node2"
        ? ({
            ...f,
            neighbours: f.neighbours.map((n) => ({ ...n, state: "REACHABLE" })),
          } as unknown as NodeFacts)
        : f,
    );
    const s = screenFacts(LAB_SNAPSHOT, broken);
    expect(s.facts.map((f) => f.node)).toEqual(["node1", "node3"]);
    expect(s.missing).toHaveLength(1);
    expect(s.missing[0]?.node).toBe("node2");
    expect(s.missing[0]?.reason).toStartWith("answered facts podnet cannot read: ");
  });
});
