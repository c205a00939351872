/// <reference lib="dom" />
/**
 * The explain panel (#explain): asks `/api/explain` about an address and shows the Explanation's
 * facts as text, section by section, problems in the warning style with the command that shows them.
 */
import { errorText } from "../../base/error-text.ts";
import type { EXPLAIN_SCHEMA, Explanation } from "../../diagnosis/explanation.ts";
import { apiGet } from "./api-client.ts";
import { explainSections } from "./explain-lines.ts";
import { clear, htmlEl } from "./svg-dom.ts";

const SCHEMA: typeof EXPLAIN_SCHEMA = "podnet.explain/v1";

const isExplanation = (x: unknown): x is Explanation =>
  typeof x === "object" &&
  x !== null &&
  (x as { schema?: unknown }).schema === SCHEMA &&
  typeof (x as { summary?: unknown }).summary === "string";

export function renderExplanation(panel: HTMLElement, e: Explanation): void {
  clear(panel);
  panel.setAttribute("data-address", e.query.ip);
  for (const section of explainSections(e)) {
    const s = htmlEl("section", { class: "explain-section" }, panel);
    htmlEl("h3", {}, s, section.title);
    for (const line of section.lines) {
      const row = htmlEl("div", { class: line.warn === true ? "line warn" : "line" }, s, line.text);
      if (line.command !== undefined && line.warn === true) htmlEl("code", {}, row, line.command);
    }
  }
}

let asked = 0;

/** Explains `ip` in the panel; a newer question replaces an older one still on its way. */
export async function explainInto(
  panel: HTMLElement,
  ip: string,
  onTrace: (ip: string, end: "source" | "destination") => void,
): Promise<void> {
  const mine = ++asked;
  panel.hidden = false;
  clear(panel);
  panel.setAttribute("data-address", ip);
  panel.setAttribute("data-state", "loading");
  htmlEl("div", { class: "muted" }, panel, `explaining ${ip} …`);
  try {
    const e = await apiGet<unknown>("/api/explain", { address: ip });
    if (mine !== asked) return;
    if (!isExplanation(e)) throw new Error(`the answer for ${ip} is not a ${SCHEMA} explanation`);
    renderExplanation(panel, e);
    const buttons = htmlEl("div", { class: "buttons" }, panel);
    htmlEl("button", { type: "button", class: "trace-from" }, buttons, "trace from here").addEventListener(
      "click",
      () => onTrace(ip, "source"),
    );
    htmlEl("button", { type: "button", class: "trace-to" }, buttons, "trace to here").addEventListener(
      "click",
      () => onTrace(ip, "destination"),
    );
    panel.setAttribute("data-state", "done");
  } catch (err) {
    if (mine !== asked) return;
    clear(panel);
    htmlEl("div", { class: "line warn" }, panel, `Cannot explain ${ip}: ${errorText(err)}`);
    panel.setAttribute("data-state", "error");
  }
}
