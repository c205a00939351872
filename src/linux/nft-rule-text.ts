/**
 * Pure: an nftables rule from `nft -j` (libnftables JSON schema 1) back into the text `nft list`
 * prints, without counter values — so explain shows rules the way an operator reads them, and a
 * rule line of `nft monitor trace` (stripped the same way) can be found among a chain's rules.
 * Covers what podnet's tables and common rulesets use; anything else is shown as its JSON.
 */
import { isRecord } from "./kernel-read.ts";

type Json = unknown;

/** Keys nft prints without the `meta` keyword (nftables src/meta.c meta_key_is_unqualified). */
const UNQUALIFIED_META = new Set(["iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"]);
/** Keys whose string values nft prints quoted. */
const QUOTED_KEYS = new Set(["iifname", "oifname", "ifname"]);

interface Ctx {
  /** The value is a mark (printed as 0x%08x). */
  readonly mark: boolean;
  /** The value is an interface name (printed quoted). */
  readonly quoted: boolean;
}

const PLAIN: Ctx = { mark: false, quoted: false };

function contextOf(left: Json): Ctx {
  if (!isRecord(left)) return PLAIN;
  if (isRecord(left.meta) || isRecord(left.ct)) {
    const key = String(
      (left.meta as Record<string, Json> | undefined)?.key ?? (left.ct as Record<string, Json>)?.key,
    );
    return { mark: key === "mark", quoted: QUOTED_KEYS.has(key) };
  }
  for (const op of ["&", "|", "^"]) {
    const operands = left[op];
    if (Array.isArray(operands)) return contextOf(operands[0]);
  }
  return PLAIN;
}

function hex8(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function value(v: Json, ctx: Ctx): string {
  if (typeof v === "number") return ctx.mark ? hex8(v) : String(v);
  if (typeof v === "string") return ctx.quoted && !v.startsWith("@") ? `"${v}"` : v;
  if (typeof v === "boolean") return v ? "exists" : "missing";
  if (Array.isArray(v)) return v.map((x) => value(x, ctx)).join(" | ");
  return expr(v, ctx);
}

function binop(op: string, operands: Json[], ctx: Ctx): string {
  const [l, r] = operands;
  const inner = contextOf(l);
  const right = Array.isArray(r) ? `(${r.map((x) => value(x, inner)).join(" | ")})` : value(r, inner);
  return `${expr(l, ctx)} ${op} ${right}`;
}

function verdictOf(v: Record<string, Json>): string | undefined {
  for (const k of ["accept", "drop", "continue", "return", "queue"]) if (k in v && v[k] === null) return k;
  for (const k of ["jump", "goto"]) {
    const t = v[k];
    if (isRecord(t) && typeof t.target === "string") return `${k} ${t.target}`;
  }
  return undefined;
}

/** An expression (operand) in nft's text. */
function expr(e: Json, ctx: Ctx = PLAIN): string {
  if (!isRecord(e)) return value(e, ctx);
  if (isRecord(e.payload)) {
    const p = e.payload;
    if (typeof p.protocol === "string") return `${p.protocol} ${String(p.field)}`;
    return `@${String(p.base)},${String(p.offset)},${String(p.len)}`;
  }
  if (isRecord(e.meta)) {
    const key = String(e.meta.key);
    return UNQUALIFIED_META.has(key) ? key : `meta ${key}`;
  }
  if (isRecord(e.ct)) {
    const dir = typeof e.ct.dir === "string" ? `${e.ct.dir} ` : "";
    const family = typeof e.ct.family === "string" ? `${e.ct.family} ` : "";
    return `ct ${dir}${family}${String(e.ct.key)}`;
  }
  if (Array.isArray(e.concat)) return e.concat.map((x) => expr(x, ctx)).join(" . ");
  if (isRecord(e.prefix)) return `${value(e.prefix.addr, ctx)}/${String(e.prefix.len)}`;
  if (Array.isArray(e.range)) return `${value(e.range[0], ctx)}-${value(e.range[1], ctx)}`;
  if (Array.isArray(e.set)) return `{ ${e.set.map((x) => setElement(x, ctx)).join(", ")} }`;
  if (isRecord(e.numgen)) {
    const n = e.numgen;
    const offset = typeof n.offset === "number" && n.offset !== 0 ? ` offset ${n.offset}` : "";
    return `numgen ${String(n.mode)} mod ${String(n.mod)}${offset}`;
  }
  if (isRecord(e.fib)) {
    const flags = Array.isArray(e.fib.flags)
      ? e.fib.flags.map(String).join(" . ")
      : String(e.fib.flags ?? "");
    return `fib ${flags} ${String(e.fib.result)}`;
  }
  if (isRecord(e.map)) return `${expr(e.map.key)} map ${expr(e.map.data)}`;
  if (isRecord(e.elem)) return expr(e.elem.val, ctx);
  for (const op of ["&", "|", "^", "<<", ">>"]) {
    const operands = e[op];
    if (Array.isArray(operands)) return binop(op, operands, ctx);
  }
  const verdict = verdictOf(e);
  if (verdict !== undefined) return verdict;
  return JSON.stringify(e);
}

function setElement(x: Json, ctx: Ctx): string {
  if (Array.isArray(x) && x.length === 2) return `${expr(x[0], ctx)} : ${expr(x[1], ctx)}`;
  return expr(x, ctx);
}

function match(m: Record<string, Json>): string {
  const ctx = contextOf(m.left);
  const left = expr(m.left, ctx);
  const right = value(m.right, ctx);
  const op = String(m.op);
  const leftIsBinop = isRecord(m.left) && ["&", "|", "^", "<<", ">>"].some((k) => k in (m.left as object));
  switch (op) {
    case "==":
      return leftIsBinop ? `${left} == ${right}` : `${left} ${right}`;
    case "in":
      return `${left} ${right}`;
    default:
      return `${left} ${op} ${right}`;
  }
}

function nat(kind: string, n: Json): string {
  if (!isRecord(n)) return kind;
  const family = typeof n.family === "string" ? ` ${n.family}` : "";
  let target = "";
  if (n.addr !== undefined) {
    const addr = expr(n.addr);
    target = String(n.addr).includes(":") && n.port !== undefined ? `[${addr}]` : addr;
  }
  if (n.port !== undefined) target += `:${expr(n.port)}`;
  const flags =
    n.flags === undefined ? "" : ` ${Array.isArray(n.flags) ? n.flags.join(",") : String(n.flags)}`;
  return `${kind}${family}${target ? ` to ${target}` : ""}${flags}`;
}

/** One statement (or match) of a rule. */
function statement(s: Json): string {
  if (!isRecord(s)) return JSON.stringify(s);
  if (isRecord(s.match)) return match(s.match);
  if ("counter" in s) return typeof s.counter === "string" ? `counter name "${s.counter}"` : "counter";
  const verdict = verdictOf(s);
  if (verdict !== undefined) return verdict;
  if (isRecord(s.vmap)) return `${expr(s.vmap.key)} vmap ${expr(s.vmap.data)}`;
  if ("dnat" in s) return nat("dnat", s.dnat);
  if ("snat" in s) return nat("snat", s.snat);
  if ("masquerade" in s) return nat("masquerade", s.masquerade);
  if ("redirect" in s) return nat("redirect", s.redirect);
  if ("reject" in s) {
    const r = s.reject;
    if (!isRecord(r)) return "reject";
    const type = typeof r.type === "string" ? r.type : "";
    const code = typeof r.expr === "string" ? r.expr.trim() : "";
    // nft prints the family's default (icmp/icmpv6/icmpx port-unreachable) as a bare "reject".
    if (code === "" || (code === "port-unreachable" && type.startsWith("icmp")))
      return type === "tcp reset" ? "reject with tcp reset" : "reject";
    return `reject with ${type} ${code}`;
  }
  if (isRecord(s.mangle)) {
    const ctx = contextOf(s.mangle.key);
    return `${expr(s.mangle.key, ctx)} set ${value(s.mangle.value, ctx)}`;
  }
  if (isRecord(s.set)) return `${String(s.set.op)} ${String(s.set.set)} { ${expr(s.set.elem)} }`;
  if ("notrack" in s) return "notrack";
  if ("log" in s) {
    const l = s.log;
    return isRecord(l) && typeof l.prefix === "string" ? `log prefix "${l.prefix}"` : "log";
  }
  if (isRecord(s.limit)) {
    const l = s.limit;
    const over = l.inv === true ? "over " : "";
    return `limit rate ${over}${String(l.rate)}/${String(l.per)}`;
  }
  return JSON.stringify(s);
}

/** Pure: a rule's `expr` list and comment as one line of nft text (no handle, no counter values). */
export function ruleText(exprs: readonly Json[], comment?: string): string {
  const body = exprs.map(statement).join(" ");
  return comment === undefined ? body : `${body} comment "${comment}"`;
}

/** Pure: rule text as `nft list` or `nft monitor trace` print it, with counter values taken out. */
export function withoutCounterValues(rule: string): string {
  return rule.replace(/\bcounter packets \d+ bytes \d+/g, "counter").trim();
}
