import { afterEach, describe, expect, test } from "bun:test";
import { readMapUntil } from "../../test/support/read-map-until.ts";
import { twoNodeCluster } from "../../test/support/two-node-cluster.ts";
import { pollUntil } from "../base/poll-until.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import type { Store } from "../store/store.ts";
import { parseListenAddress } from "./listen-address.ts";
import type { ClusterMap } from "./map-types.ts";
import { probeParam, queryParam, startUiServer, TOKEN_HEADER, type UiServer } from "./ui-server.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const TOKEN = "test-token-123456";

async function cluster(): Promise<Store> {
  return (await twoNodeCluster(cleanup)).store;
}

async function server(store: Store): Promise<UiServer> {
  const s = await startUiServer({
    store,
    hostname: "127.0.0.1",
    port: 0,
    token: TOKEN,
    factsTimeoutMs: 1000,
    explainTimeoutMs: 1000,
    traceTimeoutMs: 2000,
    log: () => {},
  });
  cleanup.push(() => s.stop());
  return s;
}

const base = (s: UiServer) => `http://127.0.0.1:${s.port}`;
const get = (s: UiServer, path: string) => fetch(`${base(s)}${path}`, { headers: { [TOKEN_HEADER]: TOKEN } });

const podNames = (m: ClusterMap) =>
  m.nodes.flatMap((n) => n.blocks.flatMap((b) => b.pods.map((p) => p.name)));

describe("ui server", () => {
  test("serves the page, and the map only with the token", async () => {
    const s = await server(await cluster());
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/?token=${TOKEN}`);
    const page = await fetch(`${base(s)}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
    const refused = await fetch(`${base(s)}/api/map`);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error).toContain("token");
    expect((await fetch(`${base(s)}/api/map?token=wrong-token-123`)).status).toBe(401);
    const res = await get(s, "/api/map");
    expect(res.status).toBe(200);
    const map = (await res.json()) as ClusterMap;
    expect(map.nodes.map((n) => n.name)).toEqual(["node1", "node2"]);
    expect(map.nodes.map((n) => n.answering)).toEqual([true, true]);
    expect(podNames(map)).toEqual(["web"]);
    expect((await fetch(`${base(s)}/api/map?token=${TOKEN}`)).status).toBe(200);
    expect((await get(s, "/api/nothing")).status).toBe(404);
  });

  test("a new pod record reaches the event stream within a second", async () => {
    const store = await cluster();
    const s = await server(store);
    const res = await fetch(`${base(s)}/api/events?token=${TOKEN}`);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const body = res.body;
    if (!body) throw new Error("no body");
    const reading = readMapUntil(body, (m) => podNames(m).includes("api"), 3000);
    await pollUntil("the stream to watch", () => s.feed.watching === 1, 3000);
    const started = Date.now();
    await putPodRecord(store, {
      namespace: "default",
      name: "api",
      node: "node2",
      ips: ["10.244.2.5"],
      labels: {},
    });
    const map = await reading;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(podNames(map).sort()).toEqual(["api", "web"]);
    // The reader was cancelled: the vanished page no longer counts as watching.
    await pollUntil("the cancelled stream to release its watch", () => s.feed.watching === 0, 3000);
  });

  test("explain answers for an address; bad input is a 400 naming it", async () => {
    const s = await server(await cluster());
    const res = await get(s, "/api/explain?address=10.244.1.2");
    expect(res.status).toBe(200);
    const e = await res.json();
    expect(e.schema).toBe("podnet.explain/v1");
    expect(e.kinds).toContain("pod");
    const bad = await get(s, "/api/explain?address=not-an-ip");
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toContain("not-an-ip");
    expect((await get(s, "/api/explain")).status).toBe(400);
    expect((await get(s, "/api/explain?address=10.0.0.1&address=10.0.0.2")).status).toBe(400);
  });

  test("trace answers with a report; an unknown source is a 400", async () => {
    const s = await server(await cluster());
    const res = await get(s, "/api/trace?source=web&destination=10.244.2.9:8080&probe=0");
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report.schema).toBe("podnet.trace/v1");
    expect(report.probed).toBe(false);
    const bad = await get(s, "/api/trace?source=nosuchpod&destination=10.244.2.9");
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toContain("nosuchpod");
    expect((await get(s, "/api/trace?source=web&destination=10.244.2.9&probe=maybe")).status).toBe(400);
  });
});

describe("cross-site and DNS rebinding", () => {
  test("a loopback server without a token refuses other Hosts, other Origins and cross-site requests", async () => {
    const s = await startUiServer({ store: await cluster(), hostname: "127.0.0.1", port: 0, log: () => {} });
    cleanup.push(() => s.stop());
    expect(s.token).toBeUndefined();
    const at = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${base(s)}${path}`, { headers });
    expect((await at("/api/map")).status).toBe(200);
    expect((await at("/api/map", { host: `localhost:${s.port}` })).status).toBe(200);
    const rebound = await at("/api/map", { host: `evil.example:${s.port}` });
    expect(rebound.status).toBe(403);
    expect((await rebound.json()).error).toContain("evil.example");
    expect((await at("/api/map", { origin: "https://evil.example" })).status).toBe(403);
    expect((await at("/api/events", { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await at("/api/map", { origin: `http://127.0.0.1:${s.port}` })).status).toBe(200);
    // Probes: only for the page's own fetch (or the token header), never for a plain GET (an <img>).
    const trace = "/api/trace?source=web&destination=10.244.2.9:8080&probe=0";
    const plain = await at(trace);
    expect(plain.status).toBe(403);
    expect((await plain.json()).error).toContain(TOKEN_HEADER);
    expect((await at(trace, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await at(trace, { "sec-fetch-site": "same-origin" })).status).toBe(200);
  });

  test("with a token, trace takes it only in the header", async () => {
    const s = await server(await cluster());
    const trace = "/api/trace?source=web&destination=10.244.2.9:8080&probe=0";
    expect((await fetch(`${base(s)}${trace}&token=${TOKEN}`)).status).toBe(403);
    expect((await get(s, trace)).status).toBe(200);
  });
});

describe("input checks", () => {
  test("queryParam and probeParam", () => {
    const u = (q: string) => new URL(`http://x/api?${q}`);
    expect(queryParam(u("a=1"), "a", true)).toBe("1");
    expect(queryParam(u(""), "a", false)).toBeUndefined();
    expect(() => queryParam(u(""), "a", true)).toThrow('missing query parameter "a"');
    expect(() => queryParam(u("a="), "a", true)).toThrow("empty");
    expect(() => queryParam(u("a=x%0Ay"), "a", true)).toThrow("control");
    expect(() => queryParam(u(`a=${"x".repeat(301)}`), "a", true)).toThrow("longer");
    expect(probeParam(u(""))).toBe(true);
    expect(probeParam(u("probe=0"))).toBe(false);
    expect(probeParam(u("probe=true"))).toBe(true);
    expect(() => probeParam(u("probe=yes"))).toThrow("probe");
  });

  test("parseListenAddress", () => {
    expect(parseListenAddress("127.0.0.1:7474")).toEqual({ hostname: "127.0.0.1", port: 7474 });
    expect(parseListenAddress("[::1]:0")).toEqual({ hostname: "::1", port: 0 });
    expect(() => parseListenAddress("127.0.0.1")).toThrow("ADDR:PORT");
    expect(() => parseListenAddress("300.0.0.1:80")).toThrow("ADDR:PORT");
    expect(() => parseListenAddress("host:80")).toThrow("ADDR:PORT");
    expect(() => parseListenAddress("127.0.0.1:65536")).toThrow("ADDR:PORT");
  });
});

describe("named routers and tokens", () => {
  test("a named router reaches the map as one router; a bad one stops the server from starting", async () => {
    const store = await cluster();
    await expect(
      startUiServer({
        store,
        port: 0,
        routers: [{ name: "Bad Name", addresses: ["192.0.2.1"] }],
        log: () => {},
      }),
    ).rejects.toThrow('router name "Bad Name" must be');
    await expect(
      startUiServer({ store, port: 0, routers: [{ name: "r", addresses: ["192.0.2.999"] }], log: () => {} }),
    ).rejects.toThrow('router "r": "192.0.2.999" is not an IP address');
    const s = await startUiServer({
      store,
      hostname: "127.0.0.1",
      port: 0,
      routers: [{ name: "edge", addresses: ["203.0.113.1"], note: "to the outside" }],
      log: () => {},
    });
    cleanup.push(() => s.stop());
    const map = (await (await fetch(`${base(s)}/api/map`)).json()) as ClusterMap;
    expect(map.routers.find((r) => r.name === "edge")).toEqual({
      name: "edge",
      addresses: ["203.0.113.1"],
      segments: [],
      note: "to the outside",
    });
  });

  test("a token of any visible ASCII is carried encoded in the URL and accepted back", async () => {
    const token = "a+b/c=d&e?f%g#h-0123";
    const s = await startUiServer({
      store: await cluster(),
      hostname: "127.0.0.1",
      port: 0,
      token,
      log: () => {},
    });
    cleanup.push(() => s.stop());
    const url = new URL(s.url);
    expect(url.searchParams.get("token")).toBe(token);
    expect((await fetch(new URL("/api/map", url))).status).toBe(401);
    const res = await fetch(new URL(`/api/map${url.search}`, url));
    expect(res.status).toBe(200);
    await res.text();
    expect((await fetch(`${base(s)}/api/map`, { headers: { [TOKEN_HEADER]: `${token}x` } })).status).toBe(
      401,
    );
    await expect(
      startUiServer({ store: await cluster(), port: 0, token: "has space inside", log: () => {} }),
    ).rejects.toThrow("a space");
  });
});
