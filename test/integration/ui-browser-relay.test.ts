/**
 * `podnet lab ui` on a lab with its own etcd (reachable only on the lab's underlay), in a real
 * browser: the server runs in node1's namespace and lab ui relays it to loopback, live updates
 * included; it refuses an address other than loopback; stopping it leaves nothing behind in node1;
 * port 0 gives a working URL; and `lab down` ends it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { runSync } from "../../src/linux/exec.ts";
import { PODNET } from "../../testkit/podnet-build.ts";
import { chromiumPath, launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { UiLab } from "./harness/ui-lab.ts";
import { mapShows } from "./harness/ui-page.ts";

const lab = new UiLab("podnet-ui-relay-test");
let browser: TestBrowser | undefined;
/** A port unlikely to be taken on loopback (the relay's own choice is tested with port 0). */
const PORT = 17_000 + Math.floor(Math.random() * 15_000); // below the ephemeral range (32768–60999)

beforeAll(async () => {
  chromiumPath();
  lab.up("--datastore", "etcd", "--nodes", "2", "--pods", "1");
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await lab.close();
}, 180_000);

/** The `lab ui-serve` and `lab tcp-pipe` processes in a namespace (their command lines). */
function relayProcesses(netns: string): string[] {
  const pids = runSync(["ip", "netns", "pids", netns])
    .stdout.split("\n")
    .filter((l) => l.trim() !== "");
  return pids
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid.trim()}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        return "";
      }
    })
    .filter((cmd) => cmd.includes("ui-serve") || cmd.includes("tcp-pipe"));
}

describe("with the lab's etcd (reachable only on the underlay)", () => {
  test("lab ui relays the map served in node1 to loopback, and refuses another address", async () => {
    if (browser === undefined) throw new Error("the browser did not start");
    const state = lab.state();
    const wide = lab.run("lab", "ui", "--listen", `0.0.0.0:${PORT}`);
    expect(wide.code).not.toBe(0);
    expect(wide.stderr).toContain("loopback only");
    const { child, url } = await lab.serve([PODNET, "lab", "ui", "--listen", `127.0.0.1:${PORT}`]);
    try {
      expect(url).toBe(`http://127.0.0.1:${PORT}/`);
      const { page, errors } = await browser.newPage();
      await page.goto(url);
      await mapShows(
        page,
        state.pods.map((p) => lab.podIP(p.name)),
      );
      // Live updates come through the relay too (the event stream is one long connection).
      lab.must("lab", "pod", "add", "node2", "relayed");
      await page.waitForSelector('[data-kind="pod"][data-name="relayed"]', { timeout: 20_000 });
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await lab.stop(child);
    }
    // Stopping lab ui leaves neither the server nor a pipe behind in node1.
    const node1 = lab.netns("node1");
    await pollUntil("lab ui's processes in node1 to end", () => relayProcesses(node1).length === 0, 10_000, {
      detail: () => relayProcesses(node1).join("\n"),
    });
    // Port 0: the relay takes a free port and the inner server the same one; the URL printed works.
    const { child: anyPort, url: anyUrl } = await lab.serve([PODNET, "lab", "ui", "--listen", "127.0.0.1:0"]);
    expect(anyUrl).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
    const res = await fetch(`${anyUrl}api/map`);
    expect(res.status).toBe(200);
    // lab down ends lab ui (it would otherwise keep the port and serve a deleted lab).
    const down = lab.run("lab", "down");
    expect(down.code).toBe(0);
    const ended = await Promise.race([anyPort.exited, Bun.sleep(10_000).then(() => "still running")]);
    lab.release(anyPort);
    if (ended === "still running") anyPort.kill("SIGKILL");
    expect(ended).toBe(0);
  }, 180_000);
});
