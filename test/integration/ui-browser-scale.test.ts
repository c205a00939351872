/**
 * Big maps in a real browser, without a lab: clusters written straight into a SQLite datastore
 * (harness/ui-seed-cluster.ts) and served by `podnet ui --datastore sqlite:PATH` on loopback.
 * 50 nodes × 20 pods: every node is drawn, blocks start folded with their used/free shown, the
 * search box finds a pod by name and by IP (opening its block, highlighting it, its IP in view as
 * text), and a block the user opens shows its 20 pods. 30 pods in one block of a small cluster:
 * every name and IP is text on the page and no two pod boxes overlap. No agent runs here, so the
 * nodes show as not answering.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { Subprocess } from "bun";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../testkit/podnet-build.ts";
import { chromiumPath, launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startPrintingUrl, stopProcess } from "./harness/ui-lab.ts";
import { mapShows } from "./harness/ui-page.ts";
import { type SeededCluster, seedCluster } from "./harness/ui-seed-cluster.ts";

const clusters: SeededCluster[] = [];
const servers: Subprocess[] = [];
let browser: TestBrowser | undefined;
let forgetExitHook: () => void = () => {};

/** Seeds a cluster and serves it; returns it with the page's URL. */
async function served(
  nodes: number,
  pods: number | ((node: number) => number),
): Promise<SeededCluster & { url: string }> {
  const cluster = await seedCluster(nodes, pods);
  clusters.push(cluster);
  const { child, url } = await startPrintingUrl(
    [PODNET, "ui", "--datastore", cluster.datastore, "--listen", "127.0.0.1:0"],
    {},
  );
  servers.push(child);
  return { ...cluster, url };
}

beforeAll(async () => {
  ensurePodnetBuilt();
  chromiumPath();
  forgetExitHook = disposeOnExit(() => {
    for (const s of servers) s.kill("SIGKILL");
    for (const c of clusters) rmSync(c.dir, { recursive: true, force: true });
  }, "removing the ui scale test's datastores");
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await stopProcess(s);
  for (const c of clusters) rmSync(c.dir, { recursive: true, force: true });
  forgetExitHook();
}, 60_000);

async function openMap(url: string) {
  if (browser === undefined) throw new Error("the browser did not start");
  const opened = await browser.newPage();
  await opened.page.goto(url);
  return opened;
}

describe("50 nodes × 20 pods", () => {
  let cluster: SeededCluster & { url: string };
  beforeAll(async () => {
    cluster = await served(50, 20);
  }, 120_000);

  test("every node is drawn; blocks start folded, showing used/free", async () => {
    const { page, errors } = await openMap(cluster.url);
    await mapShows(
      page,
      cluster.nodes.map((n) => n.name),
      60_000,
    );
    const names = await page
      .locator('#map [data-kind="node"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-name") ?? ""));
    expect(names.sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
    await mapShows(
      page,
      cluster.nodes.flatMap((n) => [n.nodeIP, n.block]),
    );
    // Folded: a summary per block, no pod drawn.
    expect(await page.locator('#map [data-kind="block-summary"]').count()).toBe(50);
    expect(await page.locator('#map [data-kind="pod"]').count()).toBe(0);
    const blocks = await page
      .locator('#map [data-kind="block"]')
      .evaluateAll((els) =>
        els.map((e) => ({ name: e.getAttribute("data-name"), text: e.textContent ?? "" })),
      );
    expect(blocks.map((b) => b.name).sort()).toEqual(cluster.nodes.map((n) => n.block).sort());
    // A /24 holds 253 addresses for pods: 20 used, the rest free.
    for (const b of blocks) {
      expect(b.text).toContain("20/253 used");
      expect(b.text).toContain("20 pods");
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  test("the search box finds a pod by name and by IP: its block opens, the pod is highlighted and in view", async () => {
    const { page, errors } = await openMap(cluster.url);
    await mapShows(page, [cluster.nodes[49]?.name ?? "node50"], 60_000);
    const byName = cluster.pods.find((p) => p.node === "node37" && p.name.endsWith("-p13-x"));
    const byIP = cluster.pods.find((p) => p.node === "node8" && p.name.endsWith("-p5-x"));
    if (byName === undefined || byIP === undefined) throw new Error("the seeded pods are missing");
    for (const [query, pod] of [
      [byName.name, byName],
      [byIP.ip, byIP],
    ] as const) {
      await page.locator("#search").fill(query);
      const selector = `#map [data-kind="pod"][data-name="${pod.name}"]`;
      await page.waitForSelector(`${selector}.hit`, { timeout: 20_000 });
      // Its block is open: all its pods are drawn, the IP is text a person reads.
      const text = (await page.locator(selector).textContent()) ?? "";
      expect(text).toContain(pod.ip);
      expect(await page.locator(selector).getAttribute("data-ip")).toBe(pod.ip);
      const block = cluster.nodes.find((n) => n.name === pod.node)?.block ?? "no block";
      const inBlock = page.locator(`#map [data-kind="block"][data-name="${block}"] [data-kind="pod"]`);
      expect(await inBlock.count()).toBe(20);
      // The view moved to it: its box lies inside the map's visible area.
      await page.waitForFunction(
        (sel: string) => {
          const e = document.querySelector(sel);
          const m = document.querySelector("#map");
          if (e === null || m === null) return false;
          const a = e.getBoundingClientRect();
          const b = m.getBoundingClientRect();
          return a.left >= b.left && a.top >= b.top && a.right <= b.right && a.bottom <= b.bottom;
        },
        selector,
        { timeout: 10_000 },
      );
      const status = (await page.locator("#search-status").textContent()) ?? "";
      expect(status).toMatch(/\d+ match/);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  test("a block the user opens shows its 20 pods", async () => {
    const { page, errors } = await openMap(cluster.url);
    await mapShows(page, [cluster.nodes[49]?.name ?? "node50"], 60_000);
    const node = cluster.nodes.find((n) => n.name === "node21");
    if (node === undefined) throw new Error("no node21");
    await page.locator(`#map [data-kind="block-summary"][data-name="${node.block}"]`).click();
    const pods = page.locator(`#map [data-kind="block"][data-name="${node.block}"] [data-kind="pod"]`);
    await page.waitForFunction(
      (sel: string) => document.querySelectorAll(sel).length === 20,
      `#map [data-kind="block"][data-name="${node.block}"] [data-kind="pod"]`,
      { timeout: 20_000 },
    );
    const drawn = await pods.evaluateAll((els) => els.map((e) => e.textContent ?? ""));
    const want = cluster.pods.filter((p) => p.node === node.name);
    for (const p of want) expect(drawn.some((t) => t.includes(p.name) && t.includes(p.ip))).toBe(true);
    // The other blocks stay folded.
    expect(await page.locator('#map [data-kind="block-summary"]').count()).toBe(49);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});

describe("30 pods in one block", () => {
  test("every name and IP is text on the page, and no two pod boxes overlap", async () => {
    const cluster = await served(3, (i) => (i === 1 ? 30 : 2));
    const { page, errors } = await openMap(cluster.url);
    const block = cluster.nodes[0]?.block ?? "no block";
    const full = cluster.pods.filter((p) => p.node === "node1");
    expect(full.length).toBe(30);
    await mapShows(
      page,
      full.flatMap((p) => [p.name, p.ip]),
    );
    const selector = `#map [data-kind="block"][data-name="${block}"] [data-kind="pod"]`;
    const pods = await page.locator(selector).evaluateAll((els) =>
      els.map((e) => {
        const r = (e.querySelector("rect") ?? e).getBoundingClientRect();
        return {
          name: e.getAttribute("data-name") ?? "",
          text: e.textContent ?? "",
          box: { x: r.left, y: r.top, width: r.width, height: r.height },
        };
      }),
    );
    expect(pods.map((p) => p.name).sort()).toEqual(full.map((p) => p.name).sort());
    for (const p of full) expect(pods.find((d) => d.name === p.name)?.text).toContain(p.ip);
    // Every pair of pod boxes is apart: no box covers another's text.
    const overlaps: string[] = [];
    for (const [i, a] of pods.entries())
      for (const b of pods.slice(i + 1)) {
        const apart =
          a.box.x + a.box.width <= b.box.x ||
          b.box.x + b.box.width <= a.box.x ||
          a.box.y + a.box.height <= b.box.y ||
          b.box.y + b.box.height <= a.box.y;
        if (!apart) overlaps.push(`${a.name} and ${b.name}`);
      }
    expect(overlaps).toEqual([]);
    // Readable: each pod's box has room for its two lines of text (not zoomed to specks).
    for (const p of pods) expect(p.box.height).toBeGreaterThanOrEqual(12);
    // And the texts are the pods' own boxes: each pod's name and IP lie inside its box.
    const outside = await page.locator(selector).evaluateAll((els) =>
      els.flatMap((e) => {
        const box = (e.querySelector("rect") ?? e).getBoundingClientRect();
        return [...e.querySelectorAll("text")]
          .map((t) => ({ t: t.textContent ?? "", r: t.getBoundingClientRect() }))
          .filter(
            ({ r }) =>
              r.left < box.left - 1 ||
              r.right > box.right + 1 ||
              r.top < box.top - 1 ||
              r.bottom > box.bottom + 1,
          )
          .map(({ t }) => `${e.getAttribute("data-name")}: ${t}`);
      }),
    );
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
