/**
 * The proxy's table of a family is live under `podnet` or `podnet-b` (a full sync builds the new
 * one under the other name and swaps: linux/nft-table-family.ts). After an agent restart the live
 * IPv4 table is `ip podnet-b`, maybe with a half-built `ip podnet` (no base chains) beside it; the
 * agent reads the live one and names it in `liveTables`. Diagnosis must find the Service rules
 * there, compute drift against it, print commands naming it, and read trace events from it.
 */
import { describe, expect, test } from "bun:test";
import { parseNodeObservation } from "../cluster/diagnosis-answers.ts";
import { diagnosisKey, type NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { compareTrace } from "./compare.ts";
import { findDrift } from "./drift.ts";
import { serviceDrift } from "./drift-services.ts";
import { explainAddress, parseExplainQuery } from "./explain.ts";
import { DUAL_ECHO_IP6, DUAL_FACTS, DUAL_SNAPSHOT } from "./fixtures/lab-dual.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import {
  nodeObservation,
  REJECT_NODE1,
  SVC_CONNTRACK,
  SVC_PROBE,
  SVC_VXLAN_NODE1,
  SVC_VXLAN_NODE3,
} from "./fixtures/trace-captures.ts";
import { labPlan } from "./fixtures/trace-scenarios.ts";
import { observeTrace } from "./observe.ts";
import { predictTrace } from "./predict.ts";
import { renderTraceReport } from "./render-trace.ts";
import { buildTraceReport } from "./trace-report.ts";

/**
 * `f` as an agent reports it once its table of `family` is live under podnet-b: with
 * `halfBuilt`, a `podnet` without base chains is listed beside it (a killed agent's, or one being
 * built); without, `podnet` is gone (the swap deleted it).
 */
function onPodnetB(
  f: NodeFacts,
  halfBuilt: boolean,
  families: readonly ("ip" | "ip6")[] = ["ip"],
): NodeFacts {
  const tables = f.nft.tables.flatMap((t) => {
    const [word, name] = t.split(" ");
    if (name !== "podnet" || !families.includes(word as "ip" | "ip6")) return [t];
    return halfBuilt ? [t, `${word} podnet-b`] : [`${word} podnet-b`];
  });
  const live = tables.filter((t) => /^ip6? podnet(-b)?$/.test(t));
  const liveTables = (["ip", "ip6"] as const).flatMap((w) => {
    const mine = live.filter((t) => t.startsWith(`${w} `));
    return mine.length === 0 ? [] : [families.includes(w) ? `${w} podnet-b` : `${w} podnet`];
  });
  return { ...f, nft: { ...f.nft, tables, liveTables } };
}

const ECHO_IP = "10.102.49.235";
const onB = (halfBuilt: boolean) => LAB_FACTS.map((f) => onPodnetB(f, halfBuilt));

/** Removes 10.244.8.3 (node3-b) from `node`'s map service-endpoints-tcp. */
function withoutEndpoint(facts: readonly NodeFacts[], node: string): NodeFacts[] {
  return facts.map((f) =>
    f.node !== node
      ? f
      : {
          ...f,
          nft: {
            ...f.nft,
            sets: f.nft.sets.map((s) =>
              s.name === "service-endpoints-tcp"
                ? { ...s, elements: s.elements.filter((e) => e.value?.[0] !== "10.244.8.3") }
                : s,
            ),
          },
        },
  );
}

describe("drift against the live table under podnet-b", () => {
  test("an intact lab whose tables are live under podnet-b (alone or beside a half-built podnet) has no drift", () => {
    expect(findDrift(LAB_SNAPSHOT, LAB_FACTS)).toEqual([]);
    expect(findDrift(LAB_SNAPSHOT, onB(false))).toEqual([]);
    expect(findDrift(LAB_SNAPSHOT, onB(true))).toEqual([]);
  });

  test("an endpoint missing from the live table is drift, its command naming ip podnet-b", () => {
    for (const halfBuilt of [false, true]) {
      const drift = findDrift(LAB_SNAPSHOT, withoutEndpoint(onB(halfBuilt), "node2"));
      expect(drift.map((d) => [d.node, d.kind, d.subject])).toEqual([
        ["node2", "missing-endpoint", "10.244.8.3:8080"],
      ]);
      expect(drift[0]?.command).toBe("nft list map ip podnet-b service-endpoints-tcp");
    }
  });

  test("a node whose agent names no live IPv4 table lacks it, though another family's is there", () => {
    const facts = onB(true).map((f) =>
      f.node === "node3"
        ? { ...f, nft: { ...f.nft, tables: ["ip6 podnet"], liveTables: ["ip6 podnet"] } }
        : f,
    );
    const drift = findDrift(LAB_SNAPSHOT, facts);
    expect(drift.map((d) => [d.node, d.kind, d.subject])).toEqual([
      ["node3", "nft-table-missing", "ip podnet"],
    ]);
    expect(drift[0]?.problem).toContain("has no nft table ip podnet (nor ip podnet-b)");
  });

  test("a table listed without base chains is no live table: said so, not taken for missing Services", () => {
    // node2's agent was killed during its first full sync: ip podnet is there, unhooked, and its
    // sets are not reported (they would miss most Services and endpoints).
    const facts = LAB_FACTS.map((f) =>
      f.node === "node2" ? { ...f, nft: { tables: ["ip podnet"], liveTables: [], sets: [], chains: [] } } : f,
    );
    const drift = findDrift(LAB_SNAPSHOT, facts);
    expect(drift.map((d) => [d.node, d.kind, d.subject])).toEqual([
      ["node2", "nft-table-missing", "ip podnet"],
    ]);
    expect(drift[0]?.problem).toBe(
      "has no live nft table: ip podnet exists but has no base chains (a full sync was cut short, or is still building it; the agent replaces it at its next sync): no Service works from or through it",
    );
    expect(drift[0]?.evidence).toBe("tables: ip podnet; live: none");
    expect(drift[0]?.command).toBe("nft list chains ip");
    const e = explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery(ECHO_IP), LAB_NOW, []);
    const node2 = e.checks.filter((c) => c.node === "node2" && !c.ok);
    expect(node2.map((c) => [c.what, c.evidence])).toEqual([
      [
        "proxy table ip podnet live (with base chains)",
        "ip podnet exists but has no base chains (a full sync was cut short, or is still building it; the agent replaces it at its next sync)",
      ],
    ]);
    const egress = explainAddress(
      LAB_SNAPSHOT,
      facts,
      parseExplainQuery("203.0.113.100"),
      LAB_NOW,
      [],
    ).egress;
    expect(egress?.find((g) => g.node === "node2")).toEqual({
      node: "node2",
      masquerade: false,
      reason:
        "ip podnet exists but has no base chains (a full sync was cut short, or is still building it; the agent replaces it at its next sync): pods' traffic leaves unmasqueraded",
    });
  });

  test("IPv6 live under ip6 podnet-b, IPv4 under ip podnet: each drift names its own table", () => {
    const facts = DUAL_FACTS.map((f) => onPodnetB(f, true, ["ip6"]));
    expect(facts[0]?.nft.liveTables).toEqual(["ip podnet", "ip6 podnet-b"]);
    for (const f of facts) expect(serviceDrift(DUAL_SNAPSHOT, f)).toEqual([]);
    const broken = facts.map((f) =>
      f.node !== "node2"
        ? f
        : {
            ...f,
            nft: {
              ...f.nft,
              sets: f.nft.sets.map((s) =>
                s.name === "cluster-ips"
                  ? { ...s, elements: s.elements.filter((e) => e.key[0] !== DUAL_ECHO_IP6) }
                  : s,
              ),
            },
          },
    );
    const drift = broken.flatMap((f) => serviceDrift(DUAL_SNAPSHOT, f));
    expect(drift.map((d) => [d.node, d.kind, d.subject, d.command])).toEqual([
      ["node2", "missing-service", DUAL_ECHO_IP6, "nft list set ip6 podnet-b cluster-ips"],
    ]);
  });
});

describe("explain reads the live table under podnet-b", () => {
  test("a ClusterIP: every node's maps found, each check's command naming ip podnet-b", () => {
    const e = explainAddress(LAB_SNAPSHOT, onB(true), parseExplainQuery(ECHO_IP), LAB_NOW, []);
    expect(e.kinds).toEqual(["cluster-ip"]);
    const dnat = e.checks.filter((c) => c.what.includes("DNATs to its 6 endpoint(s)"));
    expect(dnat).toHaveLength(6);
    expect(dnat.every((c) => c.ok)).toBe(true);
    // echo has tcp/80 and udp/80: one check per port and node.
    expect(new Set(dnat.map((c) => c.command))).toEqual(
      new Set([
        "nft list map ip podnet-b service-endpoints-tcp",
        "nft list map ip podnet-b service-endpoints-udp",
      ]),
    );
    expect(e.checks.filter((c) => !c.ok)).toEqual([]);
  });

  test("a NodePort and an endpoint: their checks name ip podnet-b", () => {
    const nodePort = explainAddress(
      LAB_SNAPSHOT,
      onB(false),
      parseExplainQuery("192.0.2.11:32032"),
      LAB_NOW,
      [],
    );
    expect(nodePort.kinds).toEqual(["node-ip", "node-port"]);
    const commands = nodePort.checks.map((c) => c.command).filter((c) => c.startsWith("nft "));
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.every((c) => c.startsWith("nft list ") && c.includes(" ip podnet-b "))).toBe(true);
    const endpoint = explainAddress(LAB_SNAPSHOT, onB(true), parseExplainQuery("10.244.8.3"), LAB_NOW, []);
    const maps = endpoint.checks.filter((c) => c.what.startsWith("endpoint of default/echo"));
    expect(maps).toHaveLength(3);
    expect(maps.every((c) => c.ok && c.command.startsWith("nft list map ip podnet-b "))).toBe(true);
  });

  test("egress of IPv6 pods: decided by ip6 podnet-b, and said so", () => {
    const facts = DUAL_FACTS.map((f) => onPodnetB(f, false, ["ip6"]));
    const e = explainAddress(DUAL_SNAPSHOT, facts, parseExplainQuery("2001:db8:3::100"), LAB_NOW, []);
    expect(e.egress?.map((g) => [g.node, g.masquerade])).toEqual([
      ["node1", true],
      ["node2", true],
      ["node3", true],
    ]);
    expect(e.egress?.[0]?.reason).toContain("nat-postrouting of ip6 podnet-b");
  });
});

/** The capture of node1-a → default/echo:80 with every event in `ip podnet-b`, as after a swap. */
function svcObservationOnB() {
  const onB = (lines: readonly string[]) => lines.map((l) => l.replace(" ip podnet ", " ip podnet-b "));
  expect(onB(SVC_VXLAN_NODE1).some((l) => l.includes(" ip podnet-b services "))).toBe(true);
  return [
    nodeObservation("node1", onB(SVC_VXLAN_NODE1), {
      conntrack: [SVC_CONNTRACK],
      counters: [{ chain: "observe-post", name: "vxlan-out 198.51.100.13", packets: 5, bytes: 600 }],
    }),
    nodeObservation("node2", []),
    nodeObservation("node3", onB(SVC_VXLAN_NODE3), {
      counters: [{ chain: "trace-pre", name: "vxlan-in 192.0.2.11", packets: 5, bytes: 600 }],
    }),
  ];
}

describe("trace with the proxy's tables under podnet-b", () => {
  test("the prediction's Service steps name ip podnet-b; its events show the DNAT of default/echo; they agree", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const prediction = predictTrace(LAB_SNAPSHOT, onB(true), plan);
    const dnat = prediction.paths[0]?.forward.find((h) => h.point === "service-dnat");
    expect(dnat?.commands.map((c) => c.command)).toEqual([
      "nft list map ip podnet-b service-ips",
      "nft list map ip podnet-b service-endpoints-tcp",
    ]);
    // As the CLI reads the agents' answers: events of ip podnet-b pass the checks unchanged.
    const answers = svcObservationOnB().map((o) =>
      parseNodeObservation(diagnosisKey("abcd1234efgh", "observed", o.node), JSON.stringify(o)),
    );
    expect(answers).toEqual(svcObservationOnB());
    const observation = observeTrace(plan, answers, SVC_PROBE);
    const node1 = observation.nodes.find((n) => n.node === "node1");
    expect(node1?.dnat).toMatchObject({ service: "default/echo", to: { ip: "10.244.8.3", port: 8080 } });
    expect(node1?.packets.some((p) => p.chain === "ip podnet-b nat-prerouting")).toBe(true);
    const verdict = compareTrace(prediction, observation);
    expect(verdict.status).toBe("agree");
    const text = renderTraceReport(
      buildTraceReport({ plan, prediction, observation, verdict, drift: [], missing: [], probed: true }),
    );
    expect(text).toContain("on node1: nft list map ip podnet-b service-ips");
    expect(text).not.toContain("ip podnet service-ips");
  });

  test("a Service without endpoints: refused by podnet-b's reject rule, as predicted", () => {
    const plan = labPlan("node1-a", "default/no-endpoints:80", 32916);
    const prediction = predictTrace(LAB_SNAPSHOT, onB(false), plan);
    const lines = REJECT_NODE1.map((l) => l.replace(" ip podnet ", " ip podnet-b "));
    const observation = observeTrace(plan, [nodeObservation("node1", lines)], {
      outcome: "refused",
      ms: 1,
      localIp: "10.244.0.2",
      localPort: 32916,
    });
    expect(observation.nodes[0]?.drops.map((d) => d.chain)).toEqual(["ip podnet-b reject-service"]);
    const v = compareTrace(prediction, observation);
    expect(v.status).toBe("agree");
    const reject = v.hops.find((h) => h.point === "service-reject");
    expect(reject?.status).toBe("observed");
    const commands = prediction.paths[0]?.forward.flatMap((h) => h.commands.map((c) => c.command)) ?? [];
    expect(commands).toContain("nft list chain ip podnet-b reject-service");
    const reply = prediction.paths[0]?.reply.flatMap((h) => h.commands.map((c) => c.command)) ?? [];
    expect(reply).toContain("nft list chain ip podnet-b reject-service");
  });
});
