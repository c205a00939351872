/**
 * A trace run from the map page of the default 3-node lab, in a real browser: pod → the demo
 * ClusterIP is drawn through the nodes the packet really crossed (and no other), in order, ending
 * at the endpoint that answered, with the DNAT written where it happens; pod → the external host is drawn with the
 * masquerade at the pod's node (the node IP as the new source) and the un-NAT on the reply.
 */
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import { useLabMap } from "./harness/ui-lab-map.ts";
import { mapShows, traceOnPage } from "./harness/ui-page.ts";

const labMap = useLabMap("podnet-ui-trace-test");
const { lab } = labMap;

async function openMap() {
  const opened = await labMap.openMap();
  await mapShows(opened.page, [lab.podIP("node1-a"), lab.podIP("node3-a")]);
  return opened;
}

/** The hops drawn on the map, in drawing order: step number, direction, node, status, rewrite. */
async function drawnHops(page: Page) {
  return page.locator("#map [data-hop]").evaluateAll((els) =>
    els.map((e) => ({
      n: Number(e.getAttribute("data-hop")),
      direction: e.getAttribute("data-direction") ?? "",
      node: e.getAttribute("data-trace-node") ?? undefined,
      status: e.getAttribute("data-status") ?? "",
      rewrite: e.querySelector(".rewrite")?.textContent ?? undefined,
    })),
  );
}

/** The nodes in order, each run of one node counted once: [node3, node3, node1] → [node3, node1]. */
const nodeRuns = (nodes: readonly (string | undefined)[]) =>
  nodes.filter((n): n is string => n !== undefined).filter((n, i, all) => i === 0 || all[i - 1] !== n);

/** The on-screen box of the first element matching `selector`. */
async function boxOf(page: Page, selector: string) {
  const box = await page.locator(selector).first().boundingBox();
  if (box === null) throw new Error(`${selector} is not drawn`);
  return box;
}

const endpointOf = (report: TraceReport) => {
  const endpoint = report.observation?.endpoint;
  if (!endpoint) throw new Error(`the trace found no endpoint: ${report.verdict.summary}`);
  return endpoint;
};

/**
 * Traces node3-a → the ClusterIP from the page and checks what the map draws against the report;
 * returns the node of the endpoint that answered (the service's endpoints are on every node).
 */
async function checkClusterIPTrace(page: Page, clusterIP: string): Promise<string> {
  const report = await traceOnPage(page, lab.podIP("node3-a"), `${clusterIP}:80`);
  expect(report.probed).toBe(true);
  expect(report.verdict.status).toBe("agree");
  const endpoint = endpointOf(report);
  const endpointPod = lab.state().pods.find((p) => lab.podIP(p.name) === endpoint.ip);
  if (!endpointPod) throw new Error(`the endpoint ${endpoint.ip} is no lab pod`);
  const drawnForward = (await drawnHops(page)).filter((h) => h.direction === "forward");
  // The forward hops the report observed on a node, in order; the map draws the same ones, in
  // the same order, on the same nodes.
  const observedForward = report.verdict.hops
    .filter((h) => h.direction === "forward" && h.status === "observed" && h.node !== undefined)
    .map((h) => h.node);
  expect(observedForward.length).toBeGreaterThan(0);
  expect(drawnForward.filter((h) => h.status === "observed").map((h) => h.node)).toEqual(observedForward);
  // The packet crossed the source pod's node, then the endpoint's (a direct route or a VXLAN
  // tunnel between them): the report says so, and no hop of the map is on any other node (a
  // path drawn through node2 when node3 talks to node1 fails here).
  const crossed = nodeRuns(["node3", endpointPod.node]);
  expect(nodeRuns(observedForward)).toEqual(crossed);
  expect(nodeRuns(drawnForward.map((h) => h.node))).toEqual(crossed);
  // The drawn path ends on the endpoint's node.
  expect(drawnForward.at(-1)?.node).toBe(endpointPod.node);
  // The drawn path ends at the endpoint that answered: the page names it, as the report does.
  const traceText = await page.evaluate(() =>
    [...document.querySelectorAll("#trace-verdict, #trace-hops, [data-hop]")]
      .map((p) => p.textContent ?? "")
      .join("\n"),
  );
  expect(traceText).toContain(endpoint.ip);
  // …and on the map: the endpoint that answered is marked as such, around its pod's box.
  const marker = `[data-trace-endpoint="${endpoint.ip}"]`;
  expect(await page.locator(marker).count()).toBe(1);
  expect((await page.locator(`${marker} text`).textContent()) ?? "").toStartWith(`answered: ${endpoint.ip}`);
  const outline = await boxOf(page, `${marker} rect`);
  const pod = await boxOf(page, `#map [data-kind=pod][data-ip="${endpoint.ip}"]`);
  expect(outline.x).toBeLessThanOrEqual(pod.x);
  expect(outline.y).toBeLessThanOrEqual(pod.y);
  expect(outline.x + outline.width).toBeGreaterThanOrEqual(pod.x + pod.width);
  expect(outline.y + outline.height).toBeGreaterThanOrEqual(pod.y + pod.height);
  // The pod's box lies inside the box of the endpoint's node.
  const node = await boxOf(page, `#map [data-kind=node][data-name="${endpointPod.node}"]`);
  expect(pod.x).toBeGreaterThanOrEqual(node.x);
  expect(pod.x + pod.width).toBeLessThanOrEqual(node.x + node.width);
  // The DNAT to that endpoint is written on the map where it happens.
  const rewrites = await page.locator("#map .rewrite").allTextContents();
  expect(rewrites.some((t) => t.includes("DNAT") && t.includes(endpoint.ip))).toBe(true);
  const dnat = drawnForward.filter((h) => h.rewrite?.startsWith("DNAT"));
  expect(dnat.map((h) => h.node)).toEqual(["node3"]);
  return endpointPod.node;
}

describe("a trace drawn on the map", () => {
  test("pod → demo ClusterIP: through the nodes crossed, to the endpoint that answered", async () => {
    const { page, errors } = await openMap();
    const service = JSON.parse(lab.must("lab", "service", "show", "default/echo", "--json")) as {
      clusterIPs: string[];
    };
    const clusterIP = service.clusterIPs[0] as string;
    // The endpoint is picked at random: trace until one on another node than node3 answers, so
    // that the path crosses two nodes and leaves one out (each trace is checked in full).
    const endpointNodes: string[] = [];
    let elsewhere = false;
    while (!elsewhere && endpointNodes.length < 8) {
      const node = await checkClusterIPTrace(page, clusterIP);
      endpointNodes.push(node);
      elsewhere = node !== "node3";
    }
    expect({ endpointNodes, elsewhere }).toMatchObject({ elsewhere: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  test("pod → external host: masquerade to the node IP at the node, un-NAT on the reply", async () => {
    const { page, errors } = await openMap();
    const podIP = lab.podIP("node1-a");
    const nodeIP = lab.nodeIP("node1");
    const external = lab.state().external.address.split("/")[0] as string;
    const report = await traceOnPage(page, podIP, `${external}:8080`);
    expect(report.verdict.status).toBe("agree");
    // The external host saw node1's IP: what the map writes is what really happened.
    expect(report.observation?.sourceSeen?.ip).toBe(nodeIP);
    const hops = await drawnHops(page);
    const masquerade = hops.filter((h) => h.rewrite?.startsWith("masquerade"));
    expect(masquerade.map((h) => ({ direction: h.direction, node: h.node }))).toEqual([
      { direction: "forward", node: "node1" },
    ]);
    // "masquerade src 10.244.x.y:port → 192.0.2.11:port": the node IP is the new source.
    expect(masquerade[0]?.rewrite).toMatch(
      new RegExp(
        `^masquerade src ${podIP.replaceAll(".", "\\.")}(:\\d+)? → ${nodeIP.replaceAll(".", "\\.")}\\b`,
      ),
    );
    const unNat = hops.filter((h) => h.rewrite?.startsWith("un-NAT"));
    expect(unNat.length).toBeGreaterThan(0);
    for (const h of unNat) {
      expect(h.direction).toBe("reply");
      expect(h.node).toBe("node1");
      // The reply's destination goes back from the node IP to the pod.
      expect(h.rewrite).toContain(`${nodeIP}`);
      expect(h.rewrite).toContain(`→ ${podIP}`);
    }
    // The masquerade is drawn before the un-NAT: forward first, then the reply.
    expect((masquerade[0]?.n ?? 0) < (unNat[0]?.n ?? 0)).toBe(true);
    // The side panel lists the same rewrites as text.
    const panel = (await page.locator("#trace-hops").textContent()) ?? "";
    expect(panel).toContain(masquerade[0]?.rewrite ?? "no masquerade");
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
