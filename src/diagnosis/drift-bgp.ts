/**
 * A node's BGP speaker against what it should be (pure): BIRD running when a peer selects the
 * node, every session Established, and the blocks it announces exactly the blocks it holds — a
 * held block not announced is unreachable from the other segments, an announced block it does
 * not hold draws another node's traffic.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { birdc, isEstablished, sessionText, speakingBgp } from "./bgp-facts.ts";
import { identifierWord, prefixWord } from "./command-words.ts";
import type { Drift } from "./drift-kinds.ts";
import { routeDst } from "./fact-text.ts";

export function bgpDrift(facts: NodeFacts): Drift[] {
  const b = facts.bgp;
  const node = facts.node;
  if (b === undefined) return [];
  if (facts.agent.backend === "bgp" && !b.enabled)
    return [
      {
        node,
        kind: "bgp-not-running",
        subject: node,
        problem:
          "runs the bgp backend, but no peer of the cluster's BGP config selects it: nothing routes its peers' blocks",
        evidence: "no BGP session configured",
        command: "podnet cluster bgp show",
      },
    ];
  if (speakingBgp(facts) === undefined) return [];
  if (!b.running)
    return [
      {
        node,
        kind: "bgp-not-running",
        subject: node,
        problem: "has BGP peers configured, but its BIRD is not running",
        evidence: b.lastError ?? "BIRD not running",
        command: birdc(facts, "show status"),
      },
    ];
  const drift: Drift[] = [];
  for (const s of b.sessions) {
    if (isEstablished(s)) continue;
    drift.push({
      node,
      kind: "bgp-session-down",
      subject: node,
      problem: `its BGP session with ${s.peer} (${s.neighbor}) is not Established`,
      evidence: sessionText(s),
      command: birdc(
        facts,
        `show protocols all${s.protocol === undefined ? "" : ` ${identifierWord(s.protocol)}`}`,
      ),
    });
  }
  const held = new Set(facts.agent.blocks.map(routeDst));
  const announced = new Set(b.announced.map(routeDst));
  for (const block of held) {
    if (announced.has(block)) continue;
    drift.push({
      node,
      kind: "bgp-unannounced-block",
      subject: block,
      problem: `holds the block ${block} but its BIRD is not configured to announce it: other segments cannot reach its pods`,
      evidence: `configured to announce: ${[...announced].join(", ") || "nothing"}`,
      command: birdc(facts, "show route where source = RTS_STATIC"),
    });
  }
  for (const block of announced) {
    if (held.has(block)) continue;
    drift.push({
      node,
      kind: "bgp-stray-announcement",
      subject: block,
      problem: `announces ${block} over BGP, a block it does not hold`,
      evidence: `holds: ${[...held].join(", ") || "nothing"}`,
      command: birdc(facts, `show route ${prefixWord(block)} all`),
    });
  }
  return drift;
}
