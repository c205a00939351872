/**
 * DNS questions asked from inside a lab pod, with real packets: `podnet lab dns-query` (a second
 * process in the pod, asking the nameserver of the pod's own /etc/resolv.conf) for the record
 * types glibc does not expose (SRV, PTR, TXT, the rcode), and glibc itself (`getent ahostsv4` or
 * `ahostsv6`) for what an ordinary program sees, search path and ndots included.
 */
import { readFileSync } from "node:fs";
import { errorText } from "../base/error-text.ts";
import { parseUpstream } from "../dns/upstream.ts";
import { askUpstream } from "../dns/upstream-client.ts";
import { formatIP, isIPv4Mapped, tryParseIP } from "../ipnet/address.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { type DnsLookup, lookupOf, parseDnsLookup, type QueryType } from "./dns-lookup.ts";
import type { LabFamily } from "./lab-families.ts";
import type { LabState } from "./lab-state.ts";
import { labCli } from "./lab-state.ts";
import { parseResolvConf } from "./resolv-conf.ts";

export const DNS_QUERY_TIMEOUT_MS = 1500;
/** glibc's own timeouts (5 s, 2 attempts per name and search domain) are cut short here. */
const GETENT_TIMEOUT_MS = 12_000;

export type Outcome<T> =
  | { readonly kind: "ok"; readonly value: T }
  | { readonly kind: "error"; readonly message: string };

/** The first nameserver of this process's /etc/resolv.conf (inside a pod: the pod's own). */
export function resolvConfNameserver(path = "/etc/resolv.conf"): string {
  const { nameservers } = parseResolvConf(readFileSync(path, "utf8"));
  const first = nameservers[0];
  if (first === undefined) throw new Error(`${path} names no nameserver`);
  return first;
}

/** Asks `server` (default: the resolv.conf nameserver) one question, over UDP (TCP if truncated). */
export async function dnsQuery(
  name: string,
  type: QueryType,
  server: string | undefined,
  timeoutMs = DNS_QUERY_TIMEOUT_MS,
): Promise<DnsLookup> {
  const upstream = parseUpstream(server ?? resolvConfNameserver());
  const reply = await askUpstream(upstream, { name, type, class: "IN" }, false, timeoutMs);
  return lookupOf(upstream.host, name, type, reply);
}

const childError = (r: { code: number; stderr: string }) =>
  (r.stderr.trim() || `exit ${r.code}`).replace(/^podnet: /, "");

/** Runs `podnet lab dns-query NAME TYPE` inside the namespace (the pod's resolv.conf applies). */
export async function queryFrom(
  state: LabState,
  netns: string,
  name: string,
  type: QueryType,
): Promise<Outcome<DnsLookup>> {
  const argv = [labCli(state), "lab", "dns-query", name, type, "--timeout", String(DNS_QUERY_TIMEOUT_MS)];
  const r = await run(inNetns(netns, argv), { timeoutMs: 3 * DNS_QUERY_TIMEOUT_MS + 5000 });
  if (r.code !== 0) return { kind: "error", message: childError(r) };
  try {
    return { kind: "ok", value: parseDnsLookup(r.stdout.trim()) };
  } catch (e) {
    return { kind: "error", message: errorText(e) };
  }
}

/**
 * The distinct addresses of family f in `getent ahostsv4|ahostsv6` output ("ADDR STREAM name"
 * lines), sorted. glibc's ahostsv6 answers a name with only A records with IPv4-mapped addresses
 * (::ffff:a.b.c.d, AI_V4MAPPED); those are no AAAA answer and are left out.
 */
export function getentAddresses(stdout: string, f: LabFamily): string[] {
  const addresses = new Set<string>();
  for (const line of stdout.split("\n")) {
    const ip = tryParseIP(line.trim().split(/\s+/)[0] ?? "");
    if (ip && ip.family === f && !isIPv4Mapped(ip)) addresses.add(formatIP(ip));
  }
  return [...addresses].sort();
}

/**
 * `getent ahostsv4 NAME` (f 4) or `ahostsv6` (f 6) inside the namespace: the addresses of that
 * family glibc resolves the name to, or an error (exit 2: the name does not resolve).
 */
export async function getentFrom(netns: string, name: string, f: LabFamily = 4): Promise<Outcome<string[]>> {
  const db = f === 4 ? "ahostsv4" : "ahostsv6";
  const r = await run(inNetns(netns, ["getent", db, name]), { timeoutMs: GETENT_TIMEOUT_MS });
  if (r.code === 2) return { kind: "error", message: `glibc did not resolve ${name} (getent exit 2)` };
  if (r.code !== 0) return { kind: "error", message: `getent ${db} ${name}: ${childError(r)}` };
  return { kind: "ok", value: getentAddresses(r.stdout, f) };
}

/** What `ip netns exec` shows the pod as /etc/resolv.conf. */
export async function resolvConfIn(netns: string): Promise<Outcome<string>> {
  const r = await run(inNetns(netns, ["cat", "/etc/resolv.conf"]), { timeoutMs: 5000 });
  return r.code === 0 ? { kind: "ok", value: r.stdout } : { kind: "error", message: childError(r) };
}
