/**
 * One lab, one `podnet lab ui` on loopback and one browser for a test file: `useLabMap` registers
 * the beforeAll that builds them and the afterAll that closes the browser and takes the lab down
 * (even when a test failed), and opens pages on the lab's map.
 */
import { afterAll, beforeAll } from "bun:test";
import type { Page } from "playwright-core";
import { chromiumPath, launchBrowser, type TestBrowser } from "./browser.ts";
import { UiLab } from "./ui-lab.ts";

export interface LabMap {
  readonly lab: UiLab;
  readonly browser: () => TestBrowser;
  /** A new page on the lab's map (its errors collected, see TestBrowser.newPage). */
  readonly openMap: () => Promise<{ page: Page; errors: string[] }>;
}

/** `lab up UPARGS` in a fresh root named after `prefix`, served by `lab ui --listen 127.0.0.1:0`. */
export function useLabMap(prefix: string, ...upArgs: string[]): LabMap {
  const lab = new UiLab(prefix);
  let browser: TestBrowser | undefined;
  let url = "";
  beforeAll(async () => {
    chromiumPath();
    lab.up(...upArgs);
    url = (await lab.serve()).url;
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await lab.close();
  }, 180_000);
  const started = () => {
    if (browser === undefined) throw new Error("the browser did not start");
    return browser;
  };
  return {
    lab,
    browser: started,
    openMap: async () => {
      const opened = await started().newPage();
      await opened.page.goto(url);
      return opened;
    },
  };
}
