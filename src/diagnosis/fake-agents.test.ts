import { describe, expect, test } from "bun:test";
import { diagnosisKey } from "../cluster/diagnosis-protocol.ts";
import { parseNodeFacts } from "../cluster/diagnosis-records.ts";
import { nftSet, reportsProxyTable } from "./drift-services.ts";
import { fakeFacts } from "./fake-agents.ts";

describe("fakeFacts", () => {
  test("a dual-stack node's answer validates and carries both proxy tables, told apart", () => {
    const facts = fakeFacts("node1", { dual: true });
    const parsed = parseNodeFacts(diagnosisKey("abcd1234", "facts", "node1"), JSON.stringify(facts));
    expect(reportsProxyTable(parsed, 4)).toBe(true);
    expect(reportsProxyTable(parsed, 6)).toBe(true);
    expect(nftSet(parsed, "cluster-ips", 4)?.elements).toEqual([{ key: ["10.96.0.10"] }]);
    expect(nftSet(parsed, "cluster-ips", 6)?.elements).toEqual([{ key: ["fd00:10:96::a"] }]);
  });

  test("a single-stack node reports only ip podnet", () => {
    const facts = fakeFacts("node1");
    expect(reportsProxyTable(facts, 4)).toBe(true);
    expect(reportsProxyTable(facts, 6)).toBe(false);
  });
});
