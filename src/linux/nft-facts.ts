/**
 * podnet's nftables table as data: its sets and maps with their elements (the Service IPs, the
 * endpoints each one DNATs to) and its chains' rules as text, for explain's "the nft maps agree
 * with the datastore" and trace's "which rule fired". Also which podnet tables exist at all, and
 * which of the proxy's two names (nft-table-family.ts) is the live table of a family.
 */
import type { NftFacts, NftSetFact } from "./kernel-facts.ts";
import { isRecord, KernelOutputError, type NetnsOption, parseToolJson, runRead } from "./kernel-read.ts";
import { liveProxyTable, proxyTablesInChainList } from "./nft-chain-list.ts";
import { ruleText, withoutCounterValues } from "./nft-rule-text.ts";
import { isProxyTableName, type ProxyTableName } from "./nft-table-family.ts";

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export class InvalidNftTableError extends Error {
  override readonly name = "InvalidNftTableError";
  constructor(
    readonly table: string,
    reason: string,
  ) {
    super(`Invalid nft table "${table}": ${reason}`);
  }
}

/** An element's key or value as its components ("10.96.0.40", "tcp", "80"; "goto endpoints-tcp-3"). */
function components(v: unknown): string[] {
  if (typeof v === "string" || typeof v === "number") return [String(v)];
  if (!isRecord(v)) return [JSON.stringify(v)];
  if (Array.isArray(v.concat)) return v.concat.flatMap(components);
  if (isRecord(v.prefix)) return [`${String(v.prefix.addr)}/${String(v.prefix.len)}`];
  if (Array.isArray(v.range)) return [`${String(v.range[0])}-${String(v.range[1])}`];
  if (isRecord(v.elem)) return components(v.elem.val);
  for (const k of ["jump", "goto"]) {
    const t = v[k];
    if (isRecord(t) && typeof t.target === "string") return [`${k} ${t.target}`];
  }
  for (const k of ["accept", "drop", "continue", "return"]) if (k in v) return [k];
  return [JSON.stringify(v)];
}

function setOf(body: Record<string, unknown>, isMap: boolean): NftSetFact {
  const elements: { key: string[]; value?: string[] }[] = [];
  if (Array.isArray(body.elem)) {
    for (const e of body.elem) {
      if (isMap && Array.isArray(e) && e.length === 2)
        elements.push({ key: components(e[0]), value: components(e[1]) });
      else elements.push({ key: components(e) });
    }
  }
  return { name: String(body.name), elements };
}

/** Pure: the sets, maps and chains (rules as text, counters without values) of `nft -j list table`. */
export function parseNftTableJson(json: string): Pick<NftFacts, "sets" | "chains"> {
  const doc = parseToolJson("nft -j list table", json, { nftables: [] });
  if (!isRecord(doc) || !Array.isArray(doc.nftables))
    throw new KernelOutputError("nft -j list table", 'no "nftables" array');
  const sets: NftSetFact[] = [];
  const chains = new Map<string, string[]>();
  for (const o of doc.nftables) {
    if (!isRecord(o)) continue;
    if (isRecord(o.set)) sets.push(setOf(o.set, false));
    else if (isRecord(o.map)) sets.push(setOf(o.map, true));
    else if (isRecord(o.chain)) chains.set(String(o.chain.name), chains.get(String(o.chain.name)) ?? []);
    else if (isRecord(o.rule)) {
      const r = o.rule;
      const chain = String(r.chain);
      const rules = chains.get(chain) ?? [];
      rules.push(
        ruleText(Array.isArray(r.expr) ? r.expr : [], typeof r.comment === "string" ? r.comment : undefined),
      );
      chains.set(chain, rules);
    }
  }
  return { sets, chains: [...chains].map(([name, rules]) => ({ name, rules })) };
}

/**
 * Pure: the chains of `nft list table` text with their rules (counter values taken out), for
 * comparing with parseNftTableJson and for rulesets read as text.
 */
export function parseNftTableText(text: string): { name: string; rules: string[] }[] {
  const chains: { name: string; rules: string[] }[] = [];
  let current: { name: string; rules: string[] } | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const open = /^chain (\S+) \{$/.exec(line);
    if (open?.[1] !== undefined) {
      current = { name: open[1], rules: [] };
      chains.push(current);
      continue;
    }
    if (current === undefined) continue;
    if (line === "}") {
      current = undefined;
      continue;
    }
    if (line === "" || /^type \S+ hook /.test(line) || /^policy \S+;$/.test(line)) continue;
    current.rules.push(withoutCounterValues(line));
  }
  return chains;
}

/** Pure: "family name" of every podnet table (podnet, podnet-b, podnet-trace-…) in `nft -j list tables`. */
export function podnetTablesOf(json: string): string[] {
  const doc = parseToolJson("nft -j list tables", json, { nftables: [] });
  if (!isRecord(doc) || !Array.isArray(doc.nftables))
    throw new KernelOutputError("nft -j list tables", 'no "nftables" array');
  const out: string[] = [];
  for (const o of doc.nftables) {
    if (!isRecord(o) || !isRecord(o.table)) continue;
    const name = String(o.table.name);
    if (isProxyTableName(name) || name.startsWith("podnet-trace-"))
      out.push(`${String(o.table.family)} ${name}`);
  }
  return out;
}

/** `nft -j list tables`, podnet's only. */
export async function listPodnetTables(options: NetnsOption = {}): Promise<string[]> {
  const r = await runRead(options, ["nft", "-j", "list", "tables"]);
  return podnetTablesOf(r.stdout);
}

/** One table's sets and chains (an absent table has none) and which podnet tables exist. */
export async function readNftTable(
  family: "ip" | "ip6" | "inet",
  name: string,
  options: NetnsOption = {},
): Promise<NftFacts> {
  if (!TABLE_NAME.test(name)) throw new InvalidNftTableError(name, "letters, digits, _ and - only");
  const [tables, listing] = await Promise.all([
    listPodnetTables(options),
    runRead(options, ["nft", "-j", "list", "table", family, name], (_c, stderr) =>
      /No such file or directory/.test(stderr),
    ),
  ]);
  if (listing.code !== 0) return { tables, sets: [], chains: [] };
  return { tables, ...parseNftTableJson(listing.stdout) };
}

/**
 * The name of the proxy's live table of `family` ("podnet-b"), or undefined when neither name
 * exists: the hooked one, else the one there (nft-chain-list.ts). `nft list chains` stays cheap at
 * any table size, where listing tables reads every set element first.
 */
export async function liveProxyTableName(
  family: "ip" | "ip6",
  options: NetnsOption = {},
): Promise<ProxyTableName | undefined> {
  const r = await runRead(options, ["nft", "list", "chains", family]);
  const live = liveProxyTable(proxyTablesInChainList(r.stdout));
  return live !== undefined && isProxyTableName(live) ? live : undefined;
}

/**
 * The proxy's live table of `family`: its sets and chains, the podnet tables present, and
 * `liveTables` naming it (none when neither name exists). A swap between finding the live table
 * and listing it deletes the one found: then it is found again, once.
 */
export async function readProxyTable(family: "ip" | "ip6", options: NetnsOption = {}): Promise<NftFacts> {
  for (let attempt = 0; ; attempt++) {
    const live = await liveProxyTableName(family, options);
    const [tables, listing] = await Promise.all([
      listPodnetTables(options),
      live === undefined
        ? undefined
        : runRead(options, ["nft", "-j", "list", "table", family, live], (_c, stderr) =>
            /No such file or directory/.test(stderr),
          ),
    ]);
    if (live !== undefined && listing?.code === 0)
      return { tables, liveTables: [`${family} ${live}`], ...parseNftTableJson(listing.stdout) };
    if (live === undefined || attempt > 0) return { tables, liveTables: [], sets: [], chains: [] };
  }
}
