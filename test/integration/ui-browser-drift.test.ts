/**
 * Drift on the map, in a real browser, on a 3-node lab whose agents resync only every 10 minutes
 * (so they do not repair a fault before the test sees it): node1's peer route to node2's block is
 * deleted inside node1's namespace, as an operator might break it, and the open page — no reload,
 * no click — draws the node1–node2 link and node1 in the warning style and lists the drift naming
 * node1, the block and what is wrong; a trace across the fault run from the page marks the first
 * disagreement on node1 with its reason; the route put back, the warning clears by itself.
 */
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { pollUntil } from "../../src/base/poll-until.ts";
import { useLabMap } from "./harness/ui-lab-map.ts";
import { mapShows, traceOnPage } from "./harness/ui-page.ts";

const { lab, openMap } = useLabMap("podnet-ui-drift-test", "--resync-seconds", "600");
/** Facts are read every 10 s while a page watches: a change shows within two rounds. */
const FACTS_WAIT = 35_000;

const node2Block = () => {
  const block = lab.state().nodes.find((n) => n.name === "node2")?.podCidrs[0];
  if (block === undefined) throw new Error("node2 has no block in the lab");
  return block;
};

const restoreRoute = () =>
  lab.inNode(
    "node1",
    ...["ip", "route", "replace", node2Block(), "via", lab.nodeIP("node2"), "dev", "eth0", "proto", "200"],
  );

type PageDrift = Awaited<ReturnType<typeof driftOnPage>>;

/** What the page shows about node1's link to node2 and about node1, read from the live DOM. */
async function driftOnPage(page: Page) {
  return page.evaluate(() => {
    const link = [...document.querySelectorAll('#map [data-kind="link"]')].find((e) => {
      const name = e.getAttribute("data-name");
      return name === "node1-node2" || name === "node2-node1";
    });
    const node1 = document.querySelector('#map [data-kind="node"][data-name="node1"]');
    return {
      link: link === undefined ? "absent" : link.classList.contains("warn") ? "warn" : "ok",
      linkText: link?.textContent ?? "",
      node1: node1?.classList.contains("warn") ? "warn" : "ok",
      node1Text: node1?.textContent ?? "",
      rows: [...document.querySelectorAll('#drift [data-drift-node="node1"]')].map(
        (e) => e.textContent ?? "",
      ),
      kinds: [...document.querySelectorAll('#drift [data-drift-node="node1"]')].map(
        (e) => e.getAttribute("data-drift-kind") ?? "",
      ),
    };
  });
}

/** Polls the page (never reloading it) until `want` holds; fails naming what the page showed last. */
async function pageUntil(page: Page, what: string, want: (d: PageDrift) => boolean): Promise<PageDrift> {
  let last: PageDrift | undefined;
  const { value } = await pollUntil(
    what,
    async () => {
      last = await driftOnPage(page);
      return want(last) ? last : undefined;
    },
    FACTS_WAIT,
    { intervalMs: 500, detail: () => `the page shows ${JSON.stringify(last)}` },
  );
  return value;
}

describe("a peer route deleted on node1", () => {
  test("is drawn on the open map by itself, marked by a trace, and cleared when repaired", async () => {
    const { page, errors } = await openMap();
    await mapShows(page, [lab.podIP("node1-a"), lab.podIP("node2-a")]);
    // A marker on the window: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { podnetTestMarker: number }).podnetTestMarker = 7;
    });
    const before = await pageUntil(page, "the healthy link node1–node2", (d) => d.link === "ok");
    expect(before).toMatchObject({ node1: "ok", rows: [], kinds: [] });

    const block = node2Block();
    lab.inNode("node1", "ip", "route", "del", block);
    try {
      const broken = await pageUntil(
        page,
        "the drift on node1 to be drawn",
        (d) => d.link === "warn" && d.node1 === "warn" && d.rows.length > 0,
      );
      expect(broken.linkText).toContain("drift");
      expect(broken.node1Text).toContain("drift");
      const row = broken.rows.find((r) => r.includes(block));
      if (row === undefined) throw new Error(`no drift row names ${block}: ${broken.rows.join(" | ")}`);
      expect(row.startsWith("node1 ")).toBe(true);
      expect(broken.kinds[broken.rows.indexOf(row)]).toBe("missing-route");
      // The kind, missing-route, in words; and the command that shows it.
      expect(row).toContain(`has no route to node2's block ${block}`);
      expect(row).toContain(`ip route show ${block}`);

      // A trace across the fault, run from the page: its first disagreement is marked on node1.
      const report = await traceOnPage(page, lab.podIP("node1-a"), `${lab.podIP("node2-a")}:8080`);
      const fd = report.verdict.firstDisagreement;
      expect(fd?.node).toBe("node1");
      expect(["no-route", "wrong-route"]).toContain(fd?.reason ?? "none");
      const first = page.locator('#map [data-hop][data-first="true"]');
      expect(await first.count()).toBe(1);
      expect(await first.getAttribute("data-trace-node")).toBe("node1");
      expect(await first.getAttribute("data-reason")).toBe(fd?.reason ?? "none");
      expect((await first.textContent()) ?? "").toContain("first disagreement");
      // Its reason is written, visible, in the verdict and on the hop's row.
      const verdict = page.locator("#trace-verdict");
      expect(await verdict.isVisible()).toBe(true);
      expect((await verdict.textContent()) ?? "").toContain(`first disagreement at node1`);
      expect((await verdict.textContent()) ?? "").toContain(`— ${fd?.reason}`);
      const row1 = page.locator('#trace-hops [data-first="true"]');
      expect(await row1.count()).toBe(1);
      expect(await row1.isVisible()).toBe(true);
      expect((await row1.textContent()) ?? "").toContain("first disagreement");
    } finally {
      restoreRoute();
    }
    await pageUntil(
      page,
      "the drift on node1 to clear",
      (d) => d.link === "ok" && d.node1 === "ok" && d.rows.length === 0,
    );
    expect(
      await page.evaluate(() => (window as unknown as { podnetTestMarker?: number }).podnetTestMarker),
    ).toBe(7);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
