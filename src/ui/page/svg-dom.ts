/// <reference lib="dom" />
/**
 * Small DOM helpers for the page: SVG and HTML elements built with attributes and text nodes only
 * (never innerHTML: every string from the map or the API lands as text).
 */
const SVG_NS = "http://www.w3.org/2000/svg";

export type Attrs = Readonly<Record<string, string | number | undefined>>;

function setAttrs(e: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, String(v));
}

export function svgEl<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs,
  parent?: Element,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  setAttrs(e, attrs);
  parent?.appendChild(e);
  return e;
}

/** An SVG <text> holding `text` as a text node (real, selectable, searchable text). */
export function svgText(
  parent: Element,
  x: number,
  y: number,
  text: string,
  cls: string,
  attrs: Attrs = {},
): SVGTextElement {
  const t = svgEl("text", { x, y, class: cls, ...attrs }, parent);
  t.textContent = text;
  return t;
}

/** A hover tooltip (SVG <title>). */
export function svgTitle(parent: Element, text: string): void {
  svgEl("title", {}, parent).textContent = text;
}

export function htmlEl<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  parent?: Element,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  if (text !== undefined) e.textContent = text;
  parent?.appendChild(e);
  return e;
}

export function clear(e: Element): void {
  while (e.firstChild !== null) e.removeChild(e.firstChild);
}

/** Shortens a label to `max` characters; the full text stays in data-name and the tooltip. */
export const shorten = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
