/**
 * The map of a bgp lab (`lab up --backend bgp`: every node's BIRD peers with the router), in a real
 * browser: the links between nodes are BIRD's routes — straight between node1 and node2 on lan1,
 * through the router to node3 on lan2 — each node says how many of its BGP sessions are up, and a
 * click on a node's name shows its BIRD in the explain panel (router id, each session with its
 * peer, neighbour, AS, state, age and routes, announced against held). BGP dropped inside node3's
 * namespace (an nft table of the test's own, TCP 179), the open page draws node3's session down
 * and the links through the router broken, with the session's last error in node3's panel; the
 * table deleted, it heals by itself.
 */
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { pollUntil } from "../../src/base/poll-until.ts";
import { useLabMap } from "./harness/ui-lab-map.ts";
import { elementShows, mapShows } from "./harness/ui-page.ts";

const { lab, openMap } = useLabMap("podnet-ui-bgp-test", "--backend", "bgp");
/** Hold timer (9 s) plus two rounds of facts (every 10 s while a page watches), with room. */
const CHANGE_WAIT = 60_000;
const TABLE = "podnet-ui-bgp-test";

/** The page's links, node BGP states and node3's box, read from the live DOM. */
async function bgpOnPage(page: Page) {
  return page.evaluate(() => ({
    links: [...document.querySelectorAll('#map [data-kind="link"]')]
      .map((e) => ({
        name: e.getAttribute("data-name") ?? "",
        router: e.getAttribute("data-router") ?? "",
        bgp: e.classList.contains("bgp"),
        warn: e.classList.contains("warn"),
        label: e.querySelector("text")?.textContent ?? "",
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    states: Object.fromEntries(
      [...document.querySelectorAll('#map [data-kind="node"]')].map((n) => [
        n.getAttribute("data-name") ?? "",
        n.querySelector("text.bgp-state")?.textContent ?? "none",
      ]),
    ),
  }));
}

type PageBgp = Awaited<ReturnType<typeof bgpOnPage>>;

async function pageUntil(page: Page, what: string, want: (d: PageBgp) => boolean): Promise<PageBgp> {
  let last: PageBgp | undefined;
  const { value } = await pollUntil(
    what,
    async () => {
      last = await bgpOnPage(page);
      return want(last) ? last : undefined;
    },
    CHANGE_WAIT,
    { intervalMs: 500, detail: () => `the page shows ${JSON.stringify(last)}` },
  );
  return value;
}

/** Clicks the node's name and returns the lines of the explain panel's BGP section. */
async function nodePanelBgp(page: Page, node: string): Promise<string[]> {
  await page.locator(`#map [data-kind="node"][data-name="${node}"] text.node-name`).click();
  await page.waitForFunction(
    (ip: string) => {
      const panel = document.querySelector("#explain");
      return panel?.getAttribute("data-state") === "done" && panel.getAttribute("data-address") === ip;
    },
    lab.nodeIP(node),
    { timeout: 30_000 },
  );
  return page.evaluate(() =>
    [...document.querySelectorAll("#explain .explain-section")]
      .filter((s) => s.querySelector("h3")?.textContent === "BGP")
      .flatMap((s) =>
        [...s.querySelectorAll(".line")].map(
          (l) => `${l.classList.contains("warn") ? "! " : ""}${l.textContent}`,
        ),
      ),
  );
}

const nft = (...args: string[]) => lab.inNode("node3", "nft", ...args);

describe("the map of a bgp lab", () => {
  test("draws BIRD's routes, each node's sessions, a session falling and coming back", async () => {
    const { page, errors } = await openMap();
    await mapShows(page, [lab.podIP("node1-a"), lab.podIP("node3-a")]);
    await elementShows(page, ".legend", ["BGP route (BIRD)"]);
    const healthy = await pageUntil(
      page,
      "three BGP links and every session up",
      (d) => d.links.length === 3 && Object.values(d.states).every((s) => s === "BGP 1/1 up"),
    );
    expect(healthy.links).toEqual([
      { name: "node1-node2", router: "", bgp: true, warn: false, label: "BGP" },
      { name: "node1-node3", router: "router", bgp: true, warn: false, label: "BGP via router" },
      { name: "node2-node3", router: "router", bgp: true, warn: false, label: "BGP via router" },
    ]);
    // Each link's tooltip holds BIRD's routes as the nodes have them.
    const tip = await page.locator('#map [data-kind="link"][data-name="node1-node3"] title').textContent();
    expect(tip ?? "").toContain(`via 192.0.2.1 dev eth0 proto bird`);
    expect(tip ?? "").toContain(`via 198.51.100.1 dev eth0 proto bird`);

    const panel = await nodePanelBgp(page, "node3");
    expect(panel[0]).toBe(`node3: BIRD running, router id ${lab.nodeIP("node3")}`);
    expect(panel[1]).toMatch(
      /^✓ router-lan2 198\.51\.100\.1 AS 64512→64512 Established since .+, routes received 2, advertised 1$/,
    );
    expect(panel).toContain(
      `✓ announces ${lab.state().nodes.find((n) => n.name === "node3")?.podCidrs[0]}; holds ${lab.state().nodes.find((n) => n.name === "node3")?.podCidrs[0]}`,
    );

    nft("add", "table", "inet", TABLE);
    try {
      nft("add", "chain", "inet", TABLE, "in", "{ type filter hook input priority -10 ; }");
      nft("add", "chain", "inet", TABLE, "out", "{ type filter hook output priority -10 ; }");
      for (const chain of ["in", "out"])
        for (const port of ["sport", "dport"])
          nft("add", "rule", "inet", TABLE, chain, "tcp", port, "179", "drop");
      const broken = await pageUntil(
        page,
        "node3's session down and the links through the router broken",
        (d) => d.states.node3 === "BGP 0/1 up" && d.links.filter((l) => l.warn).length === 2,
      );
      expect(broken.links.filter((l) => l.warn).map((l) => [l.name, l.router, l.label])).toEqual([
        ["node1-node3", "router", "BGP via router ⚠ drift"],
        ["node2-node3", "router", "BGP via router ⚠ drift"],
      ]);
      // node1 ↔ node2 do not need the router: their link stands.
      expect(broken.links.find((l) => l.name === "node1-node2")?.warn).toBe(false);
      expect(
        await page.locator('#map [data-kind="node"][data-name="node3"] text.bgp-state.down').count(),
      ).toBe(1);
      const down = await nodePanelBgp(page, "node3");
      const session = down.find((l) => l.includes("router-lan2"));
      expect(session).toMatch(
        /^! ✗ router-lan2 198\.51\.100\.1 AS 64512→64512 (Idle|Connect|Active|OpenSent)/,
      );
      expect(session).toContain("last error:");
      // The command that shows it, with node3's control socket.
      expect(session).toContain("show protocols all peer_router_lan2");
    } finally {
      nft("delete", "table", "inet", TABLE);
    }
    await pageUntil(
      page,
      "node3's session back and every link healed",
      (d) => d.states.node3 === "BGP 1/1 up" && d.links.length === 3 && d.links.every((l) => !l.warn),
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
