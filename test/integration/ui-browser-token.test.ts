/**
 * `podnet lab ui` bound beyond loopback, in a real browser: the server runs inside node1's
 * namespace on its underlay address (never in the root namespace), a chromium started in that
 * namespace opens it, and every API request without the token — or with a wrong one — is refused
 * (401), the page opened without it says why and shows no cluster data, and the URL the server
 * printed (with the token) serves the map.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { chromium } from "playwright-core";
import { PODNET } from "../../testkit/podnet-build.ts";
import { chromiumPath } from "./harness/browser.ts";
import { UiLab } from "./harness/ui-lab.ts";
import { mapShows } from "./harness/ui-page.ts";

const lab = new UiLab("podnet-ui-token-test");

beforeAll(() => {
  chromiumPath();
  lab.up("--nodes", "2", "--pods", "1");
}, 240_000);

afterAll(async () => {
  await lab.close();
}, 180_000);

describe("a server bound beyond loopback", () => {
  test("refuses a page without the token and serves the URL it printed", async () => {
    const netns = lab.netns("node1");
    const address = lab.nodeIP("node1");
    const { child, url: tokenUrl } = await lab.serve([
      ...["ip", "netns", "exec", netns],
      ...[PODNET, "lab", "ui", "--listen", `${address}:0`],
    ]);
    expect(tokenUrl).toContain("token=");
    expect(tokenUrl).toContain(`//${address}:`);
    // A browser inside node1's namespace: the server listens on its underlay address.
    const dir = mkdtempSync(`${tmpdir()}/podnet-ui-browser-`);
    const wrapper = `${dir}/chromium-in-node1`;
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${netns} ${chromiumPath()} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const inNode = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    try {
      const page = await inNode.newPage();
      const base = tokenUrl.replace(/\?.*$/, "").replace(/\/$/, "");
      // Every API request without the token, or with a wrong one, is refused.
      for (const path of [
        "/api/map",
        "/api/events",
        "/api/explain?address=10.244.0.1",
        "/api/map?token=wrong",
      ]) {
        const r = await page.goto(`${base}${path}`);
        expect({ path, status: r?.status() }).toEqual({ path, status: 401 });
      }
      // The page opened without the token shows no cluster data.
      await page.goto(`${base}/`);
      // It says why: the map request was refused (no sleep: wait for the reason).
      await page.waitForFunction(
        () => (document.querySelector("#status")?.textContent ?? "").includes("(401)"),
        undefined,
        { timeout: 20_000 },
      );
      expect((await page.locator("#map").textContent()) ?? "").not.toContain(lab.podIP("node1-a"));
      await page.goto(tokenUrl);
      await mapShows(page, [lab.podIP("node1-a"), address]);
    } finally {
      await inNode.close();
      rmSync(dir, { recursive: true, force: true });
      await lab.stop(child);
    }
  }, 90_000);
});
