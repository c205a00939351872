/**
 * Debian's chromium, headless, driven by playwright-core: one browser per test file (a launch
 * costs about a second), pages opened from it. The browser is closed by `close()` and, as a last
 * resort, killed when the process exits (disposeOnExit), so no chromium outlives a test run.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { disposeOnExit } from "../../../testkit/dispose-on-exit.ts";

/** Debian's wrapper sources /etc/chromium.d; the binary behind it skips the wrapper's noise. */
const CHROMIUM_PATHS = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

export class NoChromiumError extends Error {
  override readonly name = "NoChromiumError";
  constructor() {
    super(
      `no chromium at ${CHROMIUM_PATHS.join(" or ")}: apt-get install -y --no-install-recommends chromium (scripts/setup.sh does)`,
    );
  }
}

export function chromiumPath(): string {
  const path = CHROMIUM_PATHS.find((p) => existsSync(p));
  if (!path) throw new NoChromiumError();
  return path;
}

export interface TestBrowser {
  readonly browser: Browser;
  /** A new page (1400×900) whose uncaught errors, console errors and failed requests are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const before = chromiumChildren();
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"],
  });
  const pids = [...chromiumChildren()].filter((p) => !before.has(p));
  // Playwright starts chromium in its own process group: killing the group takes its helpers too.
  const forget = disposeOnExit(() => {
    for (const pid of pids) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
  return {
    browser,
    async newPage() {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      // Failed requests are named with their URL (chromium's console line does not name it); the
      // favicon the page does not have is no error.
      page.on("console", (m) => {
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
          errors.push(`console: ${m.text()}`);
      });
      page.on("response", (r) => {
        if (r.status() >= 400 && !r.url().endsWith("/favicon.ico"))
          errors.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      return { page, errors };
    },
    async close() {
      await browser.close();
      forget();
    },
  };
}

/** Our child processes running chromium (playwright starts the browser as our child). */
function chromiumChildren(): Set<number> {
  const out = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && comm.includes("chrom")) out.add(Number(entry));
    } catch {
      // the process ended while we read
    }
  }
  return out;
}
