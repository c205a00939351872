/**
 * A trace run from the map page of the default 3-node lab, in a real browser: pod → the demo
 * ClusterIP is drawn through the nodes the packet really crossed, ending at the endpoint that
 * answered, with the DNAT written where it happens; pod → the external host is drawn with the
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

/** The drawn hops: step number, direction, node, rewrite written beside it. */
async function drawnHops(page: Page) {
  return page.locator("#map [data-hop]").evaluateAll((els) =>
    els.map((e) => ({
      n: Number(e.getAttribute("data-hop")),
      direction: e.getAttribute("data-direction") ?? "",
      node: e.getAttribute("data-trace-node") ?? undefined,
      rewrite: e.querySelector(".rewrite")?.textContent ?? undefined,
    })),
  );
}

const endpointOf = (report: TraceReport) => {
  const endpoint = report.observation?.endpoint;
  if (!endpoint) throw new Error(`the trace found no endpoint: ${report.verdict.summary}`);
  return endpoint;
};

describe("a trace drawn on the map", () => {
  test("pod → demo ClusterIP: through the nodes crossed, to the endpoint that answered", async () => {
    const { page, errors } = await openMap();
    const service = JSON.parse(lab.must("lab", "service", "show", "default/echo", "--json")) as {
      clusterIPs: string[];
    };
    const clusterIP = service.clusterIPs[0] as string;
    const report = await traceOnPage(page, lab.podIP("node3-a"), `${clusterIP}:80`);
    expect(report.probed).toBe(true);
    const endpoint = endpointOf(report);
    // Every node a hop was really observed on is on the drawn path.
    const crossed = new Set(
      report.verdict.hops.filter((h) => h.status === "observed" && h.node !== undefined).map((h) => h.node),
    );
    const endpointPod = lab.state().pods.find((p) => lab.podIP(p.name) === endpoint.ip);
    if (!endpointPod) throw new Error(`the endpoint ${endpoint.ip} is no lab pod`);
    crossed.add(endpointPod.node);
    crossed.add("node3");
    const drawn = new Set((await drawnHops(page)).map((h) => h.node));
    for (const node of crossed) expect(drawn).toContain(node as string);
    // The drawn path ends at the endpoint that answered: the page names it, as the report does.
    const traceText = await page.evaluate(() =>
      [...document.querySelectorAll("#trace-verdict, #trace-hops, [data-hop]")]
        .map((p) => p.textContent ?? "")
        .join("\n"),
    );
    expect(traceText).toContain(endpoint.ip);
    // …and on the map: the endpoint that answered is marked, inside its pod's box.
    expect(await page.locator(`[data-trace-endpoint="${endpoint.ip}"]`).count()).toBe(1);
    // The DNAT to that endpoint is written on the map where it happens.
    const rewrites = await page.locator("#map .rewrite").allTextContents();
    expect(rewrites.some((t) => t.includes("DNAT") && t.includes(endpoint.ip))).toBe(true);
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
