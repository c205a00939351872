/**
 * The map of the default 3-node lab in a real browser (Debian's chromium, headless, driven by
 * playwright-core): it shows every node, block, pod IP and ClusterIP and the external host; the one
 * router joining the segments with its address on each; `lab pod add` makes a pod appear without a
 * reload and `lab pod delete` removes it; a click on a pod shows its explain facts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { LabState } from "../../src/lab/lab-state.ts";
import { useLabMap } from "./harness/ui-lab-map.ts";
import { elementShows, mapShows } from "./harness/ui-page.ts";

const { lab, openMap } = useLabMap("podnet-ui-map-test");
let state: LabState;

beforeAll(() => {
  state = lab.state();
});

describe("the map of the 3-node lab", () => {
  test("shows every node, block, pod IP and ClusterIP, and the external host", async () => {
    const { page, errors } = await openMap();
    const services = JSON.parse(lab.must("lab", "service", "list", "--json")) as {
      services: { name: string; clusterIPs: string[] }[];
    };
    const clusterIPs = services.services.flatMap((s) => s.clusterIPs);
    expect(clusterIPs.length).toBeGreaterThanOrEqual(2);
    const texts = [
      ...state.nodes.flatMap((n) => [n.name, lab.nodeIP(n.name), ...n.podCidrs]),
      ...state.pods.flatMap((p) => [p.name, lab.podIP(p.name)]),
      ...clusterIPs,
      state.external.address.split("/")[0] as string,
    ];
    await mapShows(page, texts);
    for (const n of state.nodes)
      expect(await page.locator(`[data-kind="node"][data-name="${n.name}"]`).count()).toBe(1);
    for (const p of state.pods)
      expect(await page.locator(`[data-kind="pod"][data-ip="${lab.podIP(p.name)}"]`).count()).toBe(1);
    for (const ip of clusterIPs) expect(await page.locator(`[data-ip="${ip}"]`).count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("draws one router, named router, with its address on every segment it joins", async () => {
    const { page, errors } = await openMap();
    // The router's address on each node segment is the nodes' default gateway; on the external
    // segment it is that segment's first address (the lab's topology: 203.0.113.1).
    const gateways = [...new Set(state.nodes.map((n) => n.gateway.split("/")[0] as string))].sort();
    expect(gateways).toEqual(["192.0.2.1", "198.51.100.1"]);
    const external = state.external.address.split("/")[0] as string;
    const onExternal = external.replace(/\.\d+$/, ".1");
    await mapShows(page, [lab.podIP("node1-a")]);
    const routers = page.locator('#map [data-kind="router"]');
    await page.waitForFunction(
      () => document.querySelectorAll('#map [data-kind="router"]').length > 0,
      undefined,
      { timeout: 20_000 },
    );
    expect(await routers.count()).toBe(1);
    expect(await routers.first().getAttribute("data-name")).toBe("router");
    const text = (await routers.first().textContent()) ?? "";
    for (const ip of [...gateways, onExternal])
      expect({ ip, text }).toEqual({ ip, text: expect.stringContaining(ip) });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("lab pod add shows the new pod without a reload; lab pod delete removes it", async () => {
    const { page, errors } = await openMap();
    await mapShows(page, [lab.podIP("node1-a")]);
    // A marker on the window: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { podnetTestMarker: number }).podnetTestMarker = 42;
    });
    lab.must("lab", "pod", "add", "node2", "ui-new");
    lab.state(true);
    const ip = lab.podIP("ui-new");
    await page.waitForSelector(`[data-kind="pod"][data-name="ui-new"][data-ip="${ip}"]`, { timeout: 20_000 });
    await mapShows(page, ["ui-new", ip]);
    lab.must("lab", "pod", "delete", "ui-new");
    await page.waitForSelector(`[data-kind="pod"][data-name="ui-new"]`, {
      state: "detached",
      timeout: 20_000,
    });
    expect(
      await page.evaluate(() => (window as unknown as { podnetTestMarker?: number }).podnetTestMarker),
    ).toBe(42);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  test("a click on a pod shows its explain facts", async () => {
    const { page, errors } = await openMap();
    const ip = lab.podIP("node2-a");
    const pod = page.locator(`[data-kind="pod"][data-ip="${ip}"]`);
    await pod.waitFor({ timeout: 20_000 });
    const answer = page.waitForResponse((r) => r.url().includes("/api/explain"), { timeout: 30_000 });
    await pod.click();
    expect((await answer).status()).toBe(200);
    await elementShows(page, "#explain", ["node2"]);
    const text = (await page.locator("#explain").textContent()) ?? "";
    expect(text).toContain(ip);
    expect(text).toContain("node2-a");
    expect(text).toContain("node2");
    expect(text).toContain(state.nodes.find((n) => n.name === "node2")?.podCidrs[0] ?? "no block");
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
