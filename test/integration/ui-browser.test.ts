/**
 * `podnet lab ui` in a real browser (Debian's chromium, headless, driven by playwright-core) on the
 * default 3-node lab: the map shows every node, block, pod IP and ClusterIP; `lab pod add` makes a
 * pod appear without a reload and `lab pod delete` removes it; a click on a pod shows its explain
 * facts; a trace pod → demo ClusterIP is drawn through the nodes the packet really crossed, ending
 * at the endpoint that answered; and a server bound beyond loopback (inside node1's namespace, on
 * its underlay address, with a browser started in that namespace) refuses a page without the token.
 * Last, a 2-node lab with the lab's own etcd: `lab ui` serves the map from node1's namespace and
 * relays it to loopback, live updates included.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import type { Page } from "playwright-core";
import { chromium } from "playwright-core";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import type { LabState } from "../../src/lab/lab-state.ts";
import { runSync } from "../../src/linux/exec.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../testkit/podnet-build.ts";
import { chromiumPath, launchBrowser, type TestBrowser } from "./harness/browser.ts";

const labRoot = mkdtempSync(`${tmpdir()}/podnet-ui-test-`);
/** The lab with the lab's own etcd (the relay case of lab ui), in a root of its own. */
const etcdLabRoot = mkdtempSync(`${tmpdir()}/podnet-ui-etcd-test-`);
/** A port unlikely to be taken (the servers listen on loopback or inside node1's namespace). */
const PORT = 17_000 + Math.floor(Math.random() * 20_000);

function podnet(...args: string[]) {
  return runSync([PODNET, ...args], { env: { PODNET_LAB_ROOT: labRoot }, timeoutMs: 120_000 });
}

function mustPodnet(...args: string[]): string {
  const r = podnet(...args);
  if (r.code !== 0) throw new Error(`podnet ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

const readState = () => JSON.parse(readFileSync(`${labRoot}/state.json`, "utf8")) as LabState;

function podIP(state: LabState, name: string): string {
  const pod = state.pods.find((p) => p.name === name);
  const address = (pod?.result as { ips?: { address: string }[] } | undefined)?.ips?.[0]?.address;
  if (!address) throw new Error(`no address for pod ${name}`);
  return address.split("/")[0] as string;
}

const nodeIP = (state: LabState, name: string) =>
  (state.nodes.find((n) => n.name === name)?.address ?? "").split("/")[0] as string;

/** Starts a long-running podnet command and waits for the URL it prints. */
async function startServer(argv: string[], root = labRoot): Promise<{ child: Subprocess; url: string }> {
  const child = Bun.spawn(argv, {
    env: { ...process.env, PODNET_LAB_ROOT: root },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  children.add(child);
  const reader = child.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (!/https?:\/\/\S+/.test(out)) {
    const chunk = await Promise.race([
      reader.read(),
      Bun.sleep(Math.max(0, deadline - Date.now())).then(() => ({ done: true, value: undefined })),
    ]);
    if (chunk.done || chunk.value === undefined) {
      const stderr = await new Response(child.stderr).text().catch(() => "");
      throw new Error(`${argv.join(" ")} printed no URL: ${out.trim()} ${stderr.trim()}`);
    }
    out += new TextDecoder().decode(chunk.value);
  }
  // Keep draining what it prints later, so it never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done) {}
  })().catch(() => {});
  void new Response(child.stderr).text().catch(() => "");
  return { child, url: (/https?:\/\/\S+/.exec(out) as RegExpExecArray)[0] };
}

async function stopServer(child: Subprocess): Promise<void> {
  child.kill("SIGTERM");
  const exited = await Promise.race([child.exited, Bun.sleep(5000).then(() => undefined)]);
  if (exited === undefined) child.kill("SIGKILL");
  children.delete(child);
}

const children = new Set<Subprocess>();
let state: LabState;
let browser: TestBrowser;
let url = "";
let forgetExitHook: () => void = () => {};

/** Whether the map's SVG text holds every string (real <text>, so textContent is what a person reads). */
async function mapShows(page: Page, texts: readonly string[], timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    (want: readonly string[]) => {
      const svg = document.querySelector("#map");
      const text = svg?.textContent ?? "";
      return want.every((w) => text.includes(w));
    },
    texts,
    { timeout },
  );
}

beforeAll(async () => {
  ensurePodnetBuilt();
  chromiumPath();
  forgetExitHook = disposeOnExit(() => {
    for (const c of children) c.kill("SIGKILL");
    for (const root of [labRoot, etcdLabRoot]) {
      runSync([PODNET, "lab", "down"], { env: { PODNET_LAB_ROOT: root } });
      rmSync(root, { recursive: true, force: true });
    }
  }, "removing the ui test's lab");
  mustPodnet("lab", "up");
  state = readState();
  url = (await startServer([PODNET, "lab", "ui", "--listen", `127.0.0.1:${PORT}`])).url;
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const c of [...children]) await stopServer(c);
  for (const root of [labRoot, etcdLabRoot]) {
    runSync([PODNET, "lab", "down"], { env: { PODNET_LAB_ROOT: root }, timeoutMs: 120_000 });
    rmSync(root, { recursive: true, force: true });
  }
  forgetExitHook();
});

describe("the map of the 3-node lab", () => {
  test("shows every node, block, pod IP and ClusterIP, and the external host", async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(url);
    const services = JSON.parse(mustPodnet("lab", "service", "list", "--json")) as {
      services: { name: string; clusterIPs: string[] }[];
    };
    const clusterIPs = services.services.flatMap((s) => s.clusterIPs);
    expect(clusterIPs.length).toBeGreaterThanOrEqual(2);
    const texts = [
      ...state.nodes.flatMap((n) => [n.name, nodeIP(state, n.name), ...n.podCidrs]),
      ...state.pods.flatMap((p) => [p.name, podIP(state, p.name)]),
      ...clusterIPs,
      state.external.address.split("/")[0] as string,
    ];
    await mapShows(page, texts);
    for (const n of state.nodes)
      expect(await page.locator(`[data-kind="node"][data-name="${n.name}"]`).count()).toBe(1);
    for (const p of state.pods)
      expect(await page.locator(`[data-kind="pod"][data-ip="${podIP(state, p.name)}"]`).count()).toBe(1);
    for (const ip of clusterIPs) expect(await page.locator(`[data-ip="${ip}"]`).count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("lab pod add shows the new pod without a reload; lab pod delete removes it", async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(url);
    await mapShows(page, [podIP(state, "node1-a")]);
    // A marker on the window: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { podnetTestMarker: number }).podnetTestMarker = 42;
    });
    mustPodnet("lab", "pod", "add", "node2", "ui-new");
    const ip = podIP(readState(), "ui-new");
    await page.waitForSelector(`[data-kind="pod"][data-name="ui-new"][data-ip="${ip}"]`, { timeout: 20_000 });
    await mapShows(page, ["ui-new", ip]);
    mustPodnet("lab", "pod", "delete", "ui-new");
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
    const { page, errors } = await browser.newPage();
    await page.goto(url);
    const ip = podIP(state, "node2-a");
    const pod = page.locator(`[data-kind="pod"][data-ip="${ip}"]`);
    await pod.waitFor({ timeout: 20_000 });
    const answer = page.waitForResponse((r) => r.url().includes("/api/explain"), { timeout: 30_000 });
    await pod.click();
    expect((await answer).status()).toBe(200);
    await page.waitForFunction(
      (want: string) => (document.querySelector("#explain")?.textContent ?? "").includes(want),
      "node2",
      { timeout: 20_000 },
    );
    const text = (await page.locator("#explain").textContent()) ?? "";
    expect(text).toContain(ip);
    expect(text).toContain("node2-a");
    expect(text).toContain("node2");
    expect(text).toContain(state.nodes.find((n) => n.name === "node2")?.podCidrs[0] ?? "no block");
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("a trace pod → demo ClusterIP is drawn through the nodes crossed, to the endpoint that answered", async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(url);
    await mapShows(page, [podIP(state, "node1-a")]);
    const services = JSON.parse(mustPodnet("lab", "service", "show", "default/echo", "--json")) as {
      clusterIPs: string[];
    };
    const clusterIP = services.clusterIPs[0] as string;
    await page.locator("#trace-source").fill(podIP(state, "node3-a"));
    await page.locator("#trace-destination").fill(`${clusterIP}:80`);
    const probe = page.locator("#trace-probe");
    if (!(await probe.isChecked())) await probe.check();
    const answer = page.waitForResponse((r) => r.url().includes("/api/trace"), { timeout: 60_000 });
    await page.locator("#trace-run").click();
    const response = await answer;
    expect(response.status()).toBe(200);
    const report = (await response.json()) as TraceReport;
    expect(report.probed).toBe(true);
    const endpoint = report.observation?.endpoint;
    if (!endpoint) throw new Error(`the trace found no endpoint: ${report.verdict.summary}`);
    await page.waitForFunction(
      () => (document.querySelector("#trace-verdict")?.textContent ?? "").trim() !== "",
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForSelector("[data-hop]", { timeout: 20_000 });
    // Every node a hop was really observed on is on the drawn path.
    const crossed = new Set(
      report.verdict.hops.filter((h) => h.status === "observed" && h.node !== undefined).map((h) => h.node),
    );
    const endpointPod = readState().pods.find((p) => podIP(state, p.name) === endpoint.ip);
    if (!endpointPod) throw new Error(`the endpoint ${endpoint.ip} is no lab pod`);
    crossed.add(endpointPod.node);
    crossed.add("node3");
    const drawn = new Set(
      await page
        .locator("[data-trace-node]")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-trace-node") ?? "")),
    );
    for (const node of crossed) expect(drawn).toContain(node as string);
    // The drawn path ends at the endpoint that answered: the page names it, as the report does.
    const traceText = await page.evaluate(() => {
      const parts = [...document.querySelectorAll("#trace-verdict, #trace-hops, [data-hop]")];
      return parts.map((p) => p.textContent ?? "").join("\n");
    });
    expect(traceText).toContain(endpoint.ip);
    // …and on the map: the endpoint that answered is marked, inside its pod's box.
    expect(await page.locator(`[data-trace-endpoint="${endpoint.ip}"]`).count()).toBe(1);
    // The DNAT to that endpoint is written on the map where it happens.
    const rewrites = await page.locator("#map .rewrite").allTextContents();
    expect(rewrites.some((t) => t.includes("DNAT") && t.includes(endpoint.ip))).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});

describe("a server bound beyond loopback", () => {
  test("refuses a page without the token and serves the URL it printed", async () => {
    const node1 = state.nodes[0];
    if (!node1) throw new Error("no node1");
    const address = nodeIP(state, node1.name);
    const { child, url: tokenUrl } = await startServer([
      "ip",
      "netns",
      "exec",
      node1.netns,
      PODNET,
      "lab",
      "ui",
      "--listen",
      `${address}:${PORT}`,
    ]);
    expect(tokenUrl).toContain("token=");
    // A browser inside node1's namespace: the server listens on its underlay address.
    const dir = mkdtempSync(`${tmpdir()}/podnet-ui-browser-`);
    const wrapper = `${dir}/chromium-in-node1`;
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${node1.netns} ${chromiumPath()} "$@"\n`);
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
        {
          timeout: 20_000,
        },
      );
      expect((await page.locator("#map").textContent()) ?? "").not.toContain(podIP(state, "node1-a"));
      await page.goto(tokenUrl);
      await mapShows(page, [podIP(state, "node1-a"), address]);
    } finally {
      await inNode.close();
      rmSync(dir, { recursive: true, force: true });
      await stopServer(child);
    }
  }, 90_000);
});

describe("with the lab's etcd (reachable only on the underlay)", () => {
  const inEtcdLab = (...args: string[]) =>
    runSync([PODNET, ...args], { env: { PODNET_LAB_ROOT: etcdLabRoot }, timeoutMs: 120_000 });

  test("lab ui relays the map served in node1 to loopback, and refuses another address", async () => {
    const up = inEtcdLab("lab", "up", "--datastore", "etcd", "--nodes", "2", "--pods", "1");
    if (up.code !== 0) throw new Error(`lab up --datastore etcd: ${up.stderr}`);
    const etcdState = JSON.parse(readFileSync(`${etcdLabRoot}/state.json`, "utf8")) as LabState;
    const wide = inEtcdLab("lab", "ui", "--listen", `0.0.0.0:${PORT + 1}`);
    expect(wide.code).not.toBe(0);
    expect(wide.stderr).toContain("loopback only");
    const { child, url: relayed } = await startServer(
      [PODNET, "lab", "ui", "--listen", `127.0.0.1:${PORT + 1}`],
      etcdLabRoot,
    );
    try {
      expect(relayed).toBe(`http://127.0.0.1:${PORT + 1}/`);
      const { page, errors } = await browser.newPage();
      await page.goto(relayed);
      await mapShows(
        page,
        etcdState.pods.map((p) => podIP(etcdState, p.name)),
      );
      // Live updates come through the relay too (the event stream is one long connection).
      const added = inEtcdLab("lab", "pod", "add", "node2", "relayed");
      if (added.code !== 0) throw new Error(`lab pod add: ${added.stderr}`);
      await page.waitForSelector('[data-kind="pod"][data-name="relayed"]', { timeout: 20_000 });
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await stopServer(child);
    }
    // Stopping lab ui leaves neither the server nor a pipe behind in node1.
    const node1 = etcdState.nodes[0]?.netns ?? "";
    await pollUntil("lab ui's processes in node1 to end", () => relayProcesses(node1).length === 0, 10_000, {
      detail: () => relayProcesses(node1).join("\n"),
    });
    // Port 0: the relay takes a free port and the inner server the same one; the URL printed works.
    const { child: anyPort, url: anyUrl } = await startServer(
      [PODNET, "lab", "ui", "--listen", "127.0.0.1:0"],
      etcdLabRoot,
    );
    expect(anyUrl).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
    const res = await fetch(`${anyUrl}api/map`);
    expect(res.status).toBe(200);
    // lab down ends lab ui (it would otherwise keep the port and serve a deleted lab).
    const down = inEtcdLab("lab", "down");
    expect(down.code).toBe(0);
    const ended = await Promise.race([anyPort.exited, Bun.sleep(10_000).then(() => "still running")]);
    children.delete(anyPort);
    if (ended === "still running") anyPort.kill("SIGKILL");
    expect(ended).toBe(0);
  }, 180_000);
});

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
