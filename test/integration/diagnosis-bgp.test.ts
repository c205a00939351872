/**
 * `podnet lab explain` and `podnet lab trace` on a bgp lab (`lab up --backend bgp`): a pod on
 * another segment is routed on every node by BIRD's route (proto bird) with every session
 * Established and no drift; a real packet from node1's pod to node3's crosses the router with no
 * VXLAN hop and arrives with the pod's own address; BIRD's route deleted on node1 is drift on node1
 * naming the block (until BIRD's next kernel scan puts it back); a session disabled in node2's
 * BIRD shows in node2's explain as not Established, and as drift, until it is enabled again.
 */
import { describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { Explanation } from "../../src/diagnosis/explanation.ts";
import { runSync } from "../../src/linux/exec.ts";
import { forwardHops, useLab } from "../support/lab-commands.ts";

// A long resync: nothing of podnet's repairs the injected faults meanwhile (BIRD may).
const lab = useLab("diagnosis-bgp", ["--backend", "bgp", "--resync-seconds", "600"]);
const { explain, trace } = lab;

function netnsOf(name: string): string {
  const n = lab.state().nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in the lab`);
  return n.netns;
}

function inNode(name: string, ...argv: string[]): string {
  const r = runSync(["ip", "netns", "exec", netnsOf(name), ...argv], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${argv.join(" ")} on ${name}: ${r.stderr.trim()}`);
  return r.stdout;
}

function podIP(name: string): string {
  const e = explain(name);
  if (!e.pod) throw new Error(`${name} is no pod`);
  return e.query.ip;
}

function blockOf(e: Explanation): string {
  const block = e.provenance.block?.block;
  if (block === undefined) throw new Error(`${e.query.ip}: no block`);
  return block;
}

/** birdc on `node`'s BIRD, through the control socket its agent reports. */
function birdc(node: string, ...args: string[]): string {
  const socket = explain(node).bgp?.controlSocket;
  if (socket === undefined) throw new Error(`${node} reports no BIRD control socket`);
  return inNode(node, "birdc", "-s", socket, ...args);
}

describe("explain and trace in a bgp lab", () => {
  test("a pod on another segment: BIRD's route on every other node, every session Established, no drift", async () => {
    // The sessions come up within seconds of lab up; the routes follow them.
    const { value: e } = await pollUntil(
      "every node's BGP route to node3's block",
      () => {
        const x = explain("node3-a");
        return x.routes.every((r) => r.ok) && x.drift.relevant.length === 0 ? x : undefined;
      },
      60_000,
      { intervalMs: 1000, detail: () => JSON.stringify(explain("node3-a").routes, null, 2) },
    );
    const routes = Object.fromEntries(e.routes.map((r) => [r.node, r]));
    // node1 and node2 on lan1 reach node3 (lan2) through lan1's router.
    expect(routes.node1).toMatchObject({ how: "bgp", via: "192.0.2.1", ok: true });
    expect(routes.node2).toMatchObject({ how: "bgp", via: "192.0.2.1", ok: true });
    expect(routes.node3).toMatchObject({ how: "local", ok: true });
    // node2's pod shares node1's segment: BIRD's route goes straight to node2.
    const n2 = explain("node2-a").routes.find((r) => r.node === "node1");
    expect(n2).toMatchObject({ how: "bgp", ok: true });
    expect(n2?.via).not.toBe("192.0.2.1");
    for (const node of ["node1", "node2", "node3"]) {
      const x = explain(node);
      expect(x.bgp?.running).toBe(true);
      expect(x.bgp?.sessions.length).toBeGreaterThan(0);
      for (const s of x.bgp?.sessions ?? [])
        expect(s).toMatchObject({ state: "Established", established: true });
      expect(x.bgp?.announced).toEqual(x.bgp?.held ?? []);
      expect(x.drift.relevant).toEqual([]);
    }
  }, 120_000);

  test("trace node1's pod → node3's pod: BIRD's route through the router, no VXLAN hop, the pod's own address seen", () => {
    const r = trace("node1-a", `${podIP("node3-a")}:8080`);
    expect(r.verdict.status).toBe("agree");
    const hops = forwardHops(r);
    expect(hops.some((h) => h.point === "to-overlay" || h.vxlan !== undefined)).toBe(false);
    const fib = hops.find((h) => h.point === "fib" && h.node === "node1");
    expect(fib?.description).toContain("BGP route (proto bird)");
    expect(fib?.route?.via).toBe("192.0.2.1");
    expect(hops.some((h) => h.point === "underlay" && h.description.includes("via 192.0.2.1 → node3"))).toBe(
      true,
    );
    expect(r.observation?.sourceSeen?.ip).toBe(podIP("node1-a"));
  }, 120_000);

  test("BIRD's route deleted on node1: drift on node1 naming the block (BIRD puts it back at its next scan)", async () => {
    const block = blockOf(explain("node3-a"));
    const { value: drift } = await pollUntil(
      "drift on node1 for the deleted route",
      () => {
        // BIRD may have put it back since the last try: delete it again, then look at once.
        if (inNode("node1", "ip", "route", "show", block, "proto", "bird").trim() !== "")
          inNode("node1", "ip", "route", "del", block, "proto", "bird");
        return explain("node3-a").drift.relevant.find((d) => d.node === "node1" && d.subject === block);
      },
      60_000,
      { intervalMs: 500 },
    );
    expect(drift.kind).toBe("missing-route");
    expect(drift.problem).toContain("BIRD has not learned node3's block");
    expect(drift.command).toContain(`show route ${block} all`);
  }, 120_000);

  test("a session disabled in node2's BIRD: node2's explain shows it not Established, and drift; enabled again, it recovers", async () => {
    const protocol = explain("node2").bgp?.sessions[0]?.protocol;
    if (protocol === undefined) throw new Error("node2 reports no BGP session protocol");
    birdc("node2", "disable", protocol);
    try {
      const { value: e } = await pollUntil(
        "node2's session reported down",
        () => {
          const x = explain("node2");
          return x.bgp?.sessions.some((s) => !s.established) &&
            x.drift.relevant.some((d) => d.node === "node2" && d.kind === "bgp-session-down")
            ? x
            : undefined;
        },
        30_000,
        { intervalMs: 1000 },
      );
      expect(e.bgp?.sessions[0]?.state).not.toBe("Established");
    } finally {
      birdc("node2", "enable", protocol);
    }
    await pollUntil(
      "node2's session Established again, no drift",
      () => {
        const x = explain("node2");
        return x.bgp?.sessions.every((s) => s.established) && x.drift.relevant.length === 0;
      },
      60_000,
      { intervalMs: 1000 },
    );
  }, 180_000);
});
