/// <reference lib="dom" />
/**
 * The `podnet ui` page: fetches the map, lays it out with ELK, draws it as SVG, follows the
 * server's event stream to redraw on every change, and wires search, zoom/pan, collapsing,
 * explain and trace.
 */

import ELK from "elkjs/lib/elk.bundled.js";
import { errorText } from "../../base/error-text.ts";
import type { TRACE_SCHEMA, TraceReport } from "../../diagnosis/trace-types.ts";
import type { ClusterMap } from "../map-types.ts";
import { apiGet, fetchMap, openEvents } from "./api-client.ts";
import { explainInto } from "./explain-panel.ts";
import { isClusterMap } from "./is-cluster-map.ts";
import { isNewerMap } from "./is-newer-map.ts";
import { absoluteBoxes, type Box, ids, isCollapsed, layoutGraph } from "./layout-graph.ts";
import { drawMap, type MapDrawing } from "./map-view.ts";
import { type StreamState, statusLine } from "./status-line.ts";
import { clear, htmlEl } from "./svg-dom.ts";
import { type TraceSummary, traceSummary } from "./trace-steps.ts";
import { drawTrace, renderTraceResult } from "./trace-view.ts";
import { attachViewBox } from "./view-box.ts";

const TRACE: typeof TRACE_SCHEMA = "podnet.trace/v1";

function byId<T extends Element>(id: string, type: { new (): T }): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`page element #${id} is missing`);
  return e;
}

const svg = document.getElementById("map") as unknown as SVGSVGElement;
const boxLayer = document.getElementById("layer-boxes") as unknown as SVGGElement;
const lineLayer = document.getElementById("layer-lines") as unknown as SVGGElement;
const traceLayer = document.getElementById("layer-trace") as unknown as SVGGElement;
const statusEl = byId("status", HTMLElement);
const explainEl = byId("explain", HTMLElement);
const searchEl = byId("search", HTMLInputElement);
const searchStatus = byId("search-status", HTMLElement);
const driftEl = byId("drift", HTMLElement);
const verdictEl = byId("trace-verdict", HTMLElement);
const hopsEl = byId("trace-hops", HTMLElement);
const sourceEl = byId("trace-source", HTMLInputElement);
const destinationEl = byId("trace-destination", HTMLInputElement);
const probeEl = byId("trace-probe", HTMLInputElement);
const runEl = byId("trace-run", HTMLButtonElement);

const elk = new ELK();
const view = attachViewBox(svg);

const state: {
  map?: ClusterMap;
  choices: Map<string, boolean>;
  trace?: TraceSummary;
  focus?: string;
  drawing?: MapDrawing;
  size: { width: number; height: number };
  stream: StreamState;
  generation: number;
  search: string;
} = {
  choices: new Map(),
  size: { width: 0, height: 0 },
  stream: { state: "connecting" },
  generation: 0,
  search: "",
};

function showStatus(): void {
  if (state.map === undefined) return;
  const line = statusLine(state.map, state.stream);
  statusEl.textContent = line.text;
  statusEl.classList.toggle("offline", line.stale);
  statusEl.setAttribute("data-stale", String(line.stale));
}

function showDrift(m: ClusterMap): void {
  clear(driftEl);
  if (m.drift.length === 0 && m.missing.length === 0) {
    driftEl.textContent = "none: every answering node's kernel matches the datastore";
    driftEl.className = "muted";
    return;
  }
  driftEl.className = "";
  for (const d of m.drift) {
    const row = htmlEl(
      "div",
      { class: "line warn", "data-drift-node": d.node, "data-drift-kind": d.kind },
      driftEl,
      `${d.node} ${d.problem}`,
    );
    htmlEl("code", {}, row, d.command);
  }
  for (const x of m.missing)
    htmlEl("div", { class: "line warn" }, driftEl, `${x.node} did not answer: ${x.reason}`);
}

async function render(): Promise<void> {
  const map = state.map;
  if (map === undefined) return;
  const generation = ++state.generation;
  const laid = await elk.layout(layoutGraph(map, state.choices));
  // A newer map (or a toggle) started another layout meanwhile: that one draws.
  if (generation !== state.generation) return;
  const boxes = absoluteBoxes(laid);
  for (const layer of [boxLayer, lineLayer, traceLayer]) clear(layer);
  state.drawing = drawMap(boxLayer, lineLayer, map, laid, boxes, handlers, state.focus);
  if (state.trace !== undefined) drawTrace(traceLayer, state.trace, map, state.drawing);
  state.size = { width: laid.width ?? 0, height: laid.height ?? 0 };
  // The map grows and shrinks with the cluster: keep it whole unless the user chose a view.
  if (!view.moved()) view.fit(state.size.width, state.size.height);
  markHits();
  showDrift(map);
  showStatus();
  svg.setAttribute("data-version", String(map.version));
}

const handlers = {
  onAddress: (ip: string) =>
    void explainInto(explainEl, ip, (address, end) => {
      (end === "source" ? sourceEl : destinationEl).value = address;
      (end === "source" ? destinationEl : sourceEl).focus();
    }),
  onToggleBlock: (blockId: string, collapsed: boolean) => {
    state.choices.set(blockId, collapsed);
    void render();
  },
  onFocusNode: (node: string) => {
    state.focus = state.focus === node ? undefined : node;
    void render();
  },
};

// ---- search ---------------------------------------------------------------------------------

function matches(q: string): Element[] {
  if (q === "") return [];
  const found: Element[] = [];
  for (const e of boxLayer.querySelectorAll("[data-kind]")) {
    const ip = e.getAttribute("data-ip") ?? "";
    const name = (e.getAttribute("data-name") ?? "").toLowerCase();
    if (ip === q || ip.startsWith(q) || name.includes(q)) found.push(e);
  }
  // The exact address or name first: "10.244.1.1" is the gateway, not 10.244.1.10–19.
  const exact = (e: Element) =>
    e.getAttribute("data-ip") === q || (e.getAttribute("data-name") ?? "").toLowerCase() === q;
  return [...found.filter(exact), ...found.filter((e) => !exact(e))];
}

function markHits(): Element[] {
  for (const e of boxLayer.querySelectorAll(".hit")) e.classList.remove("hit");
  const hits = matches(state.search);
  for (const e of hits) e.classList.add("hit");
  return hits;
}

function boxOf(e: Element): Box | undefined {
  const ip = e.getAttribute("data-ip");
  if (e.getAttribute("data-kind") === "pod" && ip !== null) return state.drawing?.podBox(ip);
  if (e instanceof SVGGraphicsElement) {
    const b = e.getBBox();
    return { x: b.x, y: b.y, width: b.width, height: b.height };
  }
  return undefined;
}

async function search(raw: string): Promise<void> {
  const q = raw.trim().toLowerCase();
  state.search = q;
  let hits = markHits();
  const map = state.map;
  if (q !== "" && map !== undefined) {
    // Pods in collapsed blocks are not drawn: open the blocks that hold a match.
    let opened = false;
    for (const n of map.nodes)
      for (const b of n.blocks)
        if (
          isCollapsed(map, n, b, state.choices) &&
          b.pods.some((p) => p.ip.startsWith(q) || p.name.toLowerCase().includes(q))
        ) {
          state.choices.set(ids.block(n.name, b.cidr), false);
          opened = true;
        }
    if (opened) {
      await render();
      hits = markHits();
    }
  }
  searchStatus.textContent =
    q === ""
      ? ""
      : hits.length === 0
        ? `no match for ${raw.trim()}`
        : `${hits.length} match${hits.length === 1 ? "" : "es"}`;
  if (q === "") {
    view.fit(state.size.width, state.size.height);
    return;
  }
  const first = hits[0];
  const box = first === undefined ? undefined : boxOf(first);
  if (box !== undefined) view.focus(box);
}

byId("search-form", HTMLFormElement).addEventListener("submit", (ev) => {
  ev.preventDefault();
  void search(searchEl.value);
});
searchEl.addEventListener("input", () => void search(searchEl.value));

byId("zoom-fit", HTMLButtonElement).addEventListener("click", () =>
  view.fit(state.size.width, state.size.height),
);
const setAll = (collapsed: boolean) => {
  for (const n of state.map?.nodes ?? [])
    for (const b of n.blocks) state.choices.set(ids.block(n.name, b.cidr), collapsed);
  void render();
};
byId("collapse-all", HTMLButtonElement).addEventListener("click", () => setAll(true));
byId("expand-all", HTMLButtonElement).addEventListener("click", () => setAll(false));

// ---- trace ----------------------------------------------------------------------------------

const isTraceReport = (x: unknown): x is TraceReport =>
  typeof x === "object" &&
  x !== null &&
  (x as { schema?: unknown }).schema === TRACE &&
  typeof (x as { verdict?: unknown }).verdict === "object";

byId("trace-form", HTMLFormElement).addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const source = sourceEl.value.trim();
  const destination = destinationEl.value.trim();
  if (source === "" || destination === "") return;
  runEl.disabled = true;
  clear(verdictEl);
  clear(hopsEl);
  verdictEl.setAttribute("data-status", "running");
  htmlEl(
    "div",
    { class: "muted" },
    verdictEl,
    `tracing ${source} → ${destination}${probeEl.checked ? " with a probe" : ""} …`,
  );
  try {
    const r = await apiGet<unknown>("/api/trace", {
      source,
      destination,
      ...(probeEl.checked ? {} : { probe: "0" }),
    });
    if (!isTraceReport(r)) throw new Error(`the answer is not a ${TRACE} report`);
    state.trace = traceSummary(r);
    renderTraceResult(verdictEl, hopsEl, state.trace);
    await render();
    verdictEl.scrollIntoView({ block: "start" });
  } catch (err) {
    clear(verdictEl);
    verdictEl.setAttribute("data-status", "error");
    htmlEl(
      "div",
      { class: "line warn" },
      verdictEl,
      `Cannot trace ${source} → ${destination}: ${errorText(err)}`,
    );
  } finally {
    runEl.disabled = false;
  }
});

byId("trace-clear", HTMLButtonElement).addEventListener("click", () => {
  state.trace = undefined;
  clear(verdictEl);
  clear(hopsEl);
  verdictEl.removeAttribute("data-status");
  clear(traceLayer);
});

// ---- live map -------------------------------------------------------------------------------

function accept(m: unknown): void {
  if (!isClusterMap(m)) return;
  if (!isNewerMap(state.map, m)) return;
  state.map = m;
  void render();
}

fetchMap()
  .then(accept)
  .catch((err: unknown) => {
    statusEl.textContent = `Cannot load the map: ${errorText(err)}`;
    statusEl.classList.add("offline");
  });
openEvents(accept, (live) => {
  if (live) state.stream = { state: "open" };
  // Still down while EventSource retries: the first drop is the one that counts.
  else if (state.stream.state !== "down") state.stream = { state: "down", since: new Date().toISOString() };
  showStatus();
});
