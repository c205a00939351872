import { describe, expect, test } from "bun:test";
import { explainAddress, parseExplainQuery } from "../../diagnosis/explain.ts";
import { LAB_FACTS } from "../../diagnosis/fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "../../diagnosis/fixtures/lab-snapshot.ts";
import { withoutRoute } from "../../diagnosis/fixtures/trace-scenarios.ts";
import { explainSections } from "./explain-lines.ts";

const explain = (address: string, facts = LAB_FACTS) =>
  explainSections(explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery(address), LAB_NOW));
const text = (s: ReturnType<typeof explain>) =>
  s.flatMap((x) => [x.title, ...x.lines.map((l) => l.text)]).join("\n");

describe("explainSections", () => {
  test("a pod: what it is, who gave it out, how every node reaches it", () => {
    const s = explain("10.244.0.2");
    expect(s[0]?.title).toBe("10.244.0.2");
    const all = text(s);
    expect(all).toContain("pod default/node1-a on node1");
    expect(all).toContain("block 10.244.0.0/24 → node1, leased");
    expect(all).toContain("node2: direct via 192.0.2.11");
    expect(all).toContain("node3: vxlan via 10.244.0.0");
    expect(s.flatMap((x) => x.lines).some((l) => l.warn === true)).toBe(false);
  });

  test("a ClusterIP: the Service with its ports and endpoints", () => {
    const all = text(explain("10.102.49.235"));
    expect(all).toContain("Service default/echo: 10.102.49.235");
    expect(all).toMatch(/tcp 80 → 8080, NodePort 32032/i);
  });

  test("a missing route is a warning line with the command that shows it", () => {
    const s = explain("10.244.8.2", withoutRoute("node1", "10.244.8.0/24"));
    const warned = s.flatMap((x) => x.lines).filter((l) => l.warn === true);
    expect(warned.length).toBeGreaterThan(0);
    expect(warned.some((l) => l.text.startsWith("node1") && l.command !== undefined)).toBe(true);
  });
});
