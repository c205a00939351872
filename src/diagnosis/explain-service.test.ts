import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { explainAddress, parseExplainQuery } from "./explain.ts";
import { DUAL_ECHO_IP6, DUAL_FACTS, DUAL_SNAPSHOT } from "./fixtures/lab-dual.ts";
import { LAB_NOW } from "./fixtures/lab-snapshot.ts";
import { renderExplanation } from "./render-explain.ts";

function explainDual(text: string, facts: readonly NodeFacts[] = DUAL_FACTS) {
  return explainAddress(DUAL_SNAPSHOT, facts, parseExplainQuery(text), LAB_NOW, []);
}

function failed(e: ReturnType<typeof explainDual>) {
  return e.checks.filter((c) => !c.ok).map((c) => `${c.node}: ${c.what}`);
}

/** The dual facts with `node`'s set `name` of ip6 podnet changed by `edit`. */
function ip6SetWith(
  node: string,
  name: string,
  edit: (e: NodeFacts["nft"]["sets"][number]["elements"]) => NodeFacts["nft"]["sets"][number]["elements"],
): NodeFacts[] {
  return DUAL_FACTS.map((f) =>
    f.node !== node
      ? f
      : {
          ...f,
          nft: {
            ...f.nft,
            sets: f.nft.sets.map((s) =>
              s.name === name && s.family === "ip6" ? { ...s, elements: edit(s.elements) } : s,
            ),
          },
        },
  );
}

describe("explain an IPv6 Service address of a dual-stack cluster", () => {
  test("the IPv6 ClusterIP: every node's ip6 podnet has it and DNATs to the 6 IPv6 endpoints", () => {
    const e = explainDual(`[${DUAL_ECHO_IP6}]:80`);
    expect(e.kinds).toEqual(["cluster-ip"]);
    expect(e.summary).toBe("ClusterIP of Service default/echo → 6 endpoint(s)");
    expect(e.service?.endpoints.map((x) => x.ip)).toEqual([
      "fd00:10:244::2",
      "fd00:10:244::3",
      "fd00:10:244:3::2",
      "fd00:10:244:3::3",
      "fd00:10:244:8::2",
      "fd00:10:244:8::3",
    ]);
    expect(failed(e)).toEqual([]);
    const dnat = e.checks.filter((c) => c.what.includes("/tcp DNATs"));
    expect(dnat.map((c) => [c.node, c.what])).toEqual(
      ["node1", "node2", "node3"].map((n) => [n, `[${DUAL_ECHO_IP6}]:80/tcp DNATs to its 6 endpoint(s)`]),
    );
    expect(dnat[0]?.command).toBe("nft list map ip6 podnet service-endpoints-tcp");
    expect(renderExplanation(e)).toContain(
      `✓ [${DUAL_ECHO_IP6}]:80/tcp DNATs to its 6 endpoint(s) (node1, node2, node3)`,
    );
  });

  test("an IPv6 endpoint missing from one node's ip6 map fails there, and is relevant drift", () => {
    const facts = ip6SetWith("node3", "service-endpoints-tcp", (el) =>
      el.filter((x) => x.value?.[0] !== "fd00:10:244::3"),
    );
    const e = explainDual(`[${DUAL_ECHO_IP6}]:80`, facts);
    expect(failed(e)).toEqual([`node3: [${DUAL_ECHO_IP6}]:80/tcp DNATs to its 6 endpoint(s)`]);
    expect(e.checks.find((c) => !c.ok)?.evidence).toContain("missing [fd00:10:244::3]:8080");
    expect(e.drift.relevant.map((d) => [d.node, d.kind, d.subject])).toEqual([
      ["node3", "missing-endpoint", "[fd00:10:244::3]:8080"],
    ]);
  });

  test("an IPv6 NodePort counts the IPv6 endpoints in ip6 podnet", () => {
    const e = explainDual("[2001:db8:1::12]:32032");
    expect(e.kinds).toEqual(["node-ip", "node-port"]);
    expect(failed(e)).toEqual([]);
    const nodePort = e.checks.filter((c) => c.what.includes("service-nodeports"));
    expect(nodePort.map((c) => [c.node, c.what])).toEqual(
      ["node1", "node2", "node3"].map((n) => [n, "tcp/32032 in map service-nodeports with 6 endpoint(s)"]),
    );
    expect(nodePort[0]?.command).toBe("nft list map ip6 podnet nodeport-endpoints-tcp");
  });

  test("an IPv6 pod address: its endpoint checks read the IPv6 ClusterIP's maps", () => {
    const e = explainDual("fd00:10:244:3::2");
    const endpoint = e.checks.filter((c) => c.what.startsWith("endpoint of default/echo"));
    expect(endpoint.map((c) => [c.node, c.ok])).toEqual([
      ["node1", true],
      ["node2", true],
      ["node3", true],
    ]);
    expect(endpoint[0]?.command).toBe("nft list map ip6 podnet service-endpoints-tcp");
  });
});
