/**
 * What the browser tests read from the map page: the text a person reads (real SVG <text> and the
 * side panel's text), waited for with a deadline rather than a sleep, and the trace run from the
 * page's own form (as a person would), returning the report the page received.
 */
import type { Page } from "playwright-core";
import type { TraceReport } from "../../../src/diagnosis/trace-types.ts";

/** Waits until the map's SVG text holds every string (textContent is what a person reads). */
export async function mapShows(page: Page, texts: readonly string[], timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    (want: readonly string[]) => {
      const text = document.querySelector("#map")?.textContent ?? "";
      return want.every((w) => text.includes(w));
    },
    texts,
    { timeout },
  );
}

/** Waits until the text of the element matching `selector` holds every string. */
export async function elementShows(
  page: Page,
  selector: string,
  texts: readonly string[],
  timeout = 20_000,
): Promise<void> {
  await page.waitForFunction(
    ({ selector, want }: { selector: string; want: readonly string[] }) => {
      const text = document.querySelector(selector)?.textContent ?? "";
      return want.every((w) => text.includes(w));
    },
    { selector, want: texts },
    { timeout },
  );
}

/** The text of every element matching `selector`. */
export async function textsOf(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).evaluateAll((els) => els.map((e) => e.textContent ?? ""));
}

/**
 * Fills the trace form, runs it (with a probe unless `probe` is false) and waits until the page has
 * drawn it; returns the report the page received. A trace drawn before is cleared first, so that
 * its hops are not taken for the new one's.
 */
export async function traceOnPage(
  page: Page,
  source: string,
  destination: string,
  probe = true,
): Promise<TraceReport> {
  await page.locator("#trace-clear").click();
  await page.waitForFunction(() => document.querySelector("#map [data-hop]") === null, undefined, {
    timeout: 5_000,
  });
  await page.locator("#trace-source").fill(source);
  await page.locator("#trace-destination").fill(destination);
  const box = page.locator("#trace-probe");
  if ((await box.isChecked()) !== probe) await box.setChecked(probe);
  const answer = page.waitForResponse((r) => r.url().includes("/api/trace"), { timeout: 90_000 });
  await page.locator("#trace-run").click();
  const response = await answer;
  if (response.status() !== 200)
    throw new Error(`the page's trace ${source} → ${destination} got HTTP ${response.status()}`);
  const report = (await response.json()) as TraceReport;
  await page.waitForFunction(
    () => {
      const status = document.querySelector("#trace-verdict")?.getAttribute("data-status");
      return status !== null && status !== undefined && status !== "running";
    },
    undefined,
    { timeout: 20_000 },
  );
  await page.waitForSelector("#map [data-hop]", { timeout: 20_000 });
  return report;
}
