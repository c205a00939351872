import { describe, expect, test } from "bun:test";
import { explainAddress, parseExplainQuery } from "../../diagnosis/explain.ts";
import { BGP_FACTS, BGP_SNAPSHOT, sessionDown, withBgp } from "../../diagnosis/fixtures/lab-bgp.ts";
import { LAB_FACTS } from "../../diagnosis/fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "../../diagnosis/fixtures/lab-snapshot.ts";
import { withoutRoute } from "../../diagnosis/fixtures/trace-scenarios.ts";
import { bgpLines, explainSections } from "./explain-lines.ts";

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

  test("a node IP under bgp: its BIRD, each session with its age and routes, announced against held", () => {
    const bgp = (facts = BGP_FACTS) =>
      explainSections(explainAddress(BGP_SNAPSHOT, facts, parseExplainQuery("192.0.2.11"), LAB_NOW, []));
    const section = bgp().find((x) => x.title === "BGP");
    expect(section?.lines.map((l) => l.text)).toEqual([
      "node1: BIRD running, router id 192.0.2.11",
      "✓ router-lan1 192.0.2.1 AS 64512→64512 Established since 21 s ago, routes received 2, advertised 1",
      "✓ announces 10.244.0.0/24; holds 10.244.0.0/24",
      "control socket /run/podnet-lab/dhnj8r/node1/state/bgp/bird.ctl",
    ]);
    expect(section?.lines.some((l) => l.warn === true)).toBe(false);
    // A pod's explanation has no BGP part.
    expect(explain("10.244.0.2").some((x) => x.title === "BGP")).toBe(false);

    const down = bgp(withBgp("node1", sessionDown)).find((x) => x.title === "BGP");
    const session = down?.lines[1];
    expect(session?.warn).toBe(true);
    expect(session?.text).toContain("✗ router-lan1 192.0.2.1 AS 64512→64512 Active");
    expect(session?.text).toContain(
      "routes received 0, advertised 1 — last error: Socket: Connection refused",
    );
    expect(session?.command).toBe(
      "birdc -s /run/podnet-lab/dhnj8r/node1/state/bgp/bird.ctl show protocols all peer_router_lan1",
    );
  });

  test("BGP lines: BIRD not running, a block not announced, a crafted socket path", () => {
    const part = {
      node: "node9",
      backend: "bgp",
      enabled: true,
      running: false,
      sessions: [],
      announced: [],
      held: ["10.244.9.0/24"],
      lastError: "bird exited 1",
      controlSocket: "/run/x; rm -rf /",
    };
    const lines = bgpLines(part);
    expect(lines[0]).toMatchObject({
      text: "node9: BIRD NOT RUNNING — last error: bird exited 1",
      warn: true,
    });
    expect(lines[0]?.command).toBe("birdc -s <invalid> show status");
    expect(lines[1]).toMatchObject({ text: "✗ announces nothing; holds 10.244.9.0/24", warn: true });
    expect(bgpLines({ ...part, enabled: false })).toEqual([
      {
        text: "node9: no BGP peer of the cluster's BGP config selects it (bgp backend)",
        warn: true,
        command: "podnet cluster bgp show",
      },
    ]);
  });
});
