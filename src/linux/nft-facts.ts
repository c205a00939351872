/**
 * podnet's nftables table as data: its sets and maps with their elements (the Service IPs, the
 * endpoints each one DNATs to) and its chains' rules as text, for explain's "the nft maps agree
 * with the datastore" and trace's "which rule fired". Also which podnet tables exist at all, and
 * which of the proxy's two names (nft-table-family.ts) is the live table of a family: both from
 * one `nft list chains` (nft-chain-list.ts), 20 ms where `nft list tables` takes 2 s at 10,000
 * Services.
 */
import type { NftFacts, NftSetFact } from "./kernel-facts.ts";
import { isRecord, KernelOutputError, type NetnsOption, parseToolJson, runRead } from "./kernel-read.ts";
import {
  type ListedTable,
  type NftRunner,
  proxyTablesOf,
  readProxyTables,
  readTables,
} from "./nft-chain-list.ts";
import { ruleText, withoutCounterValues } from "./nft-rule-text.ts";
import { isProxyTableName, type ProxyTableName } from "./nft-table-family.ts";
import { isTableGone, onLiveTable } from "./on-live-table.ts";

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

/** Pure: "family name" of every podnet table (podnet, podnet-b, podnet-trace-…) of a chain listing. */
export function podnetTablesOf(tables: readonly ListedTable[]): string[] {
  return tables
    .filter((t) => isProxyTableName(t.name) || t.name.startsWith("podnet-trace-"))
    .map((t) => `${t.family} ${t.name}`);
}

/** nft in the namespace of `options`, as an NftRunner (a failure throws CommandError). */
export function nftReader(options: NetnsOption = {}): NftRunner {
  return async (args) => (await runRead(options, ["nft", ...args])).stdout;
}

/** One table's sets and chains (an absent table has none) and which podnet tables exist. */
export async function readNftTable(
  family: "ip" | "ip6" | "inet",
  name: string,
  options: NetnsOption = {},
): Promise<NftFacts> {
  if (!TABLE_NAME.test(name)) throw new InvalidNftTableError(name, "letters, digits, _ and - only");
  const [tables, listing] = await Promise.all([
    readTables(nftReader(options)),
    nftAnswer(options)(["-j", "list", "table", family, name]),
  ]);
  if (listing.code !== 0) return { tables: podnetTablesOf(tables), sets: [], chains: [] };
  return { tables: podnetTablesOf(tables), ...parseNftTableJson(listing.stdout) };
}

/**
 * The name of the proxy's live table of `family` ("podnet-b"): the one with base chains, or
 * undefined when neither name has them (nft-chain-list.ts).
 */
export async function liveProxyTableName(
  family: "ip" | "ip6",
  options: NetnsOption = {},
): Promise<ProxyTableName | undefined> {
  const live = (await readProxyTables(family, nftReader(options))).hooked[0];
  return live !== undefined && isProxyTableName(live) ? live : undefined;
}

export class ProxyTableGoneError extends Error {
  override readonly name = "ProxyTableGoneError";
  constructor(readonly table: string) {
    super(
      `Cannot read nft table ${table}: it was deleted between finding it live and listing it, twice in a row (two full syncs, or someone deleting it)`,
    );
  }
}

/** nft's answer to `nft ARGS…`: a table not there is an answer (exit 1, ENOENT), other failures throw. */
export type NftAnswer = (
  args: readonly string[],
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** nft in the namespace of `options` as an NftAnswer. */
function nftAnswer(options: NetnsOption): NftAnswer {
  return (args) => runRead(options, ["nft", ...args], (_c, stderr) => isTableGone(stderr));
}

/**
 * The proxy's live table of `family` (the one with base chains): its sets and chains, the podnet
 * tables present (of every family, also those without chains), and `liveTables` naming it; none
 * when no table of the family is hooked, though one may be listed in `tables` (a full sync cut
 * short). One `nft list chains` gives both the tables and the hooked one. A swap between finding
 * the live table and listing it deletes the one found: then it is found again, once; gone again,
 * ProxyTableGoneError.
 */
export async function readProxyTable(family: "ip" | "ip6", options: NetnsOption = {}): Promise<NftFacts> {
  return proxyTableFacts(family, nftAnswer(options));
}

/** readProxyTable with nft run by `nft` (a namespace's, a test's). */
export async function proxyTableFacts(family: "ip" | "ip6", nft: NftAnswer): Promise<NftFacts> {
  const runNft: NftRunner = async (args) => {
    const r = await nft(args);
    if (r.code !== 0)
      throw new KernelOutputError(`nft ${args.join(" ")}`, r.stderr.trim() || `exit ${r.code}`);
    return r.stdout;
  };
  const facts = await onLiveTable(
    () => readTables(runNft),
    async (listed): Promise<NftFacts | { readonly gone: string }> => {
      const tables = podnetTablesOf(listed);
      const live = proxyTablesOf(listed, family).hooked[0];
      if (live === undefined) return { tables, liveTables: [], sets: [], chains: [] };
      const listing = await nft(["-j", "list", "table", family, live]);
      if (listing.code !== 0) return { gone: `${family} ${live}` };
      return { tables, liveTables: [`${family} ${live}`], ...parseNftTableJson(listing.stdout) };
    },
    (r) => "gone" in r,
  );
  if ("gone" in facts) throw new ProxyTableGoneError(facts.gone);
  return facts;
}
