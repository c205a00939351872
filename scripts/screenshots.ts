/**
 * `npm run screenshots`: the pictures of README's map, made with the tooling the browser tests
 * use. Brings up the default 3-node lab (in a lab root of its own), serves its map with
 * `podnet lab ui`, opens it in Debian's headless chromium, and writes
 *   docs/images/map.png    the whole map
 *   docs/images/trace.png  a trace pod → demo ClusterIP drawn on it, with a real probe
 * then takes the lab down, also when something failed or the run is interrupted.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Page } from "playwright-core";
import type { LabState } from "../src/lab/lab-state.ts";
import { runSync } from "../src/linux/exec.ts";
import { launchBrowser } from "../test/integration/harness/browser.ts";
import { disposeOnExit } from "../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET, REPO } from "../testkit/podnet-build.ts";

const OUT = `${REPO}/docs/images`;
const labRoot = mkdtempSync(`${tmpdir()}/podnet-screenshots-`);
const env = { PODNET_LAB_ROOT: labRoot };
const port = 17_000 + Math.floor(Math.random() * 20_000);

function podnet(...args: string[]): string {
  const r = runSync([PODNET, ...args], { env, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`podnet ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

function podIP(state: LabState, name: string): string {
  const pod = state.pods.find((p) => p.name === name);
  const address = (pod?.result as { ips?: { address: string }[] } | undefined)?.ips?.[0]?.address;
  if (!address) throw new Error(`no address for pod ${name}`);
  return address.split("/")[0] as string;
}

async function waitForText(page: Page, texts: readonly string[]): Promise<void> {
  await page.waitForFunction(
    (want: readonly string[]) =>
      want.every((w) => (document.querySelector("#map")?.textContent ?? "").includes(w)),
    texts,
    { timeout: 30_000 },
  );
}

async function main(): Promise<void> {
  ensurePodnetBuilt();
  let server: ReturnType<typeof Bun.spawn> | undefined;
  const cleanup = () => {
    server?.kill("SIGKILL");
    runSync([PODNET, "lab", "down"], { env });
    rmSync(labRoot, { recursive: true, force: true });
  };
  const forget = disposeOnExit(cleanup, "taking the screenshot lab down");
  try {
    console.log("bringing up the lab…");
    podnet("lab", "up");
    const state = JSON.parse(readFileSync(`${labRoot}/state.json`, "utf8")) as LabState;
    const echo = JSON.parse(podnet("lab", "service", "show", "default/echo", "--json")) as {
      clusterIPs: string[];
    };
    const clusterIP = echo.clusterIPs[0] as string;
    server = Bun.spawn([PODNET, "lab", "ui", "--listen", `127.0.0.1:${port}`], {
      env: { ...process.env, ...env },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "inherit",
    });
    const url = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 30_000;
    while (
      !(await fetch(url)
        .then((r) => r.ok)
        .catch(() => false))
    ) {
      if (Date.now() > deadline) throw new Error(`podnet lab ui did not answer on ${url}`);
      await Bun.sleep(100);
    }
    const browser = await launchBrowser();
    try {
      const { page, errors } = await browser.newPage();
      await page.goto(url);
      await waitForText(page, [...state.pods.map((p) => podIP(state, p.name)), clusterIP]);
      await page.waitForTimeout(500);
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: `${OUT}/map.png` });
      console.log(`wrote ${OUT}/map.png`);
      await page.locator("#trace-source").fill(podIP(state, "node1-a"));
      await page.locator("#trace-destination").fill(`${clusterIP}:80`);
      const probe = page.locator("#trace-probe");
      if (!(await probe.isChecked())) await probe.check();
      await page.locator("#trace-run").click();
      await page.waitForSelector("[data-hop]", { timeout: 60_000 });
      await page.waitForFunction(
        () => (document.querySelector("#trace-verdict")?.textContent ?? "").trim() !== "",
        undefined,
        { timeout: 60_000 },
      );
      await page.waitForTimeout(500);
      await page.screenshot({ path: `${OUT}/trace.png` });
      console.log(`wrote ${OUT}/trace.png`);
      if (errors.length > 0) console.error(`the page reported errors:\n${errors.join("\n")}`);
    } finally {
      await browser.close();
    }
  } finally {
    cleanup();
    forget();
  }
}

await main();
