/**
 * `npm run screenshots`: the pictures of README's map, made with the tooling the browser tests
 * use. Brings up the default 3-node lab (in a lab root of its own), serves its map with
 * `podnet lab ui`, opens it in Debian's headless chromium, and writes
 *   docs/images/map.png    the whole map
 *   docs/images/trace.png  a trace pod → demo ClusterIP drawn on it, with a real probe
 * then takes the lab down, also when something failed or the run is interrupted. Each picture is
 * taken once the page shows what it needs (the server's settled map drawn and live; the trace's
 * verdict, hops and endpoint), and none is written when the page reported an error: the script
 * then fails.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Page } from "playwright-core";
import { pollUntil } from "../src/base/poll-until.ts";
import type { LabState } from "../src/lab/lab-state.ts";
import { runSync } from "../src/linux/exec.ts";
import type { ClusterMap } from "../src/ui/map-types.ts";
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

/**
 * Waits until the server's map is settled (every node answering, no drift, not stale) and the page
 * has drawn that version or a newer one, live, with its fonts loaded.
 */
async function waitForSettledMap(page: Page, url: string): Promise<void> {
  let seen = "no map yet";
  const settled = await pollUntil(
    "a settled map on the server",
    async () => {
      const m = (await (await fetch(`${url}api/map`)).json()) as ClusterMap;
      seen = `v${m.version}: ${m.missing.length} missing, ${m.drift.length} drift, stale ${m.stale !== undefined}`;
      const ok = m.nodes.every((n) => n.answering) && m.drift.length === 0 && m.stale === undefined;
      return ok ? m.version : undefined;
    },
    60_000,
    { detail: () => seen },
  );
  await page.waitForFunction(
    (version: number) =>
      Number(document.querySelector("#map")?.getAttribute("data-version") ?? "0") >= version &&
      document.querySelector("#status")?.textContent?.endsWith("· live") === true,
    settled.value,
    { timeout: 30_000 },
  );
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
}

/** Writes `path`, unless the page reported errors: then fails, naming them. */
async function screenshot(page: Page, errors: readonly string[], path: string): Promise<void> {
  if (errors.length > 0)
    throw new Error(`the page reported errors; ${path} not written:\n${errors.join("\n")}`);
  await page.screenshot({ path });
  console.log(`wrote ${path}`);
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
      await waitForSettledMap(page, url);
      mkdirSync(OUT, { recursive: true });
      await screenshot(page, errors, `${OUT}/map.png`);
      await page.locator("#trace-source").fill(podIP(state, "node1-a"));
      await page.locator("#trace-destination").fill(`${clusterIP}:80`);
      const probe = page.locator("#trace-probe");
      if (!(await probe.isChecked())) await probe.check();
      await page.locator("#trace-run").click();
      // The verdict (no longer "running"), its hops on the map and in the list, and the endpoint that answered.
      await page.waitForFunction(
        () => {
          const status = document.querySelector("#trace-verdict")?.getAttribute("data-status");
          return (
            status !== null &&
            status !== undefined &&
            status !== "running" &&
            document.querySelector("#layer-trace [data-hop]") !== null &&
            document.querySelector("#trace-hops [data-hop]") !== null &&
            (document.querySelector("[data-trace-endpoint]")?.textContent ?? "").startsWith("answered:")
          );
        },
        undefined,
        { timeout: 60_000 },
      );
      await page.evaluate(() => document.fonts.ready.then(() => undefined));
      await screenshot(page, errors, `${OUT}/trace.png`);
    } finally {
      await browser.close();
    }
  } finally {
    cleanup();
    forget();
  }
}

await main();
