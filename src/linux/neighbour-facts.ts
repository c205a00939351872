/**
 * Neighbour (ARP/NDP) and bridge forwarding entries: the two lookups after the route on the VXLAN
 * path (route → next hop's MAC in `ip neigh` → that MAC's remote in `bridge fdb` of the VXLAN
 * device), which an operator otherwise has to join by hand.
 */
import type { FdbFact, NeighbourFact } from "./kernel-facts.ts";
import {
  isRecord,
  KernelOutputError,
  type NetnsOption,
  optString,
  parseToolJson,
  runRead,
  stringList,
  validateIfname,
} from "./kernel-read.ts";

function neighbourOf(entry: unknown): NeighbourFact {
  if (!isRecord(entry)) throw new KernelOutputError("ip -j neigh show", "an entry is not an object");
  const dev = optString(entry.dev);
  const address = optString(entry.dst);
  if (dev === undefined || address === undefined)
    throw new KernelOutputError("ip -j neigh show", "an entry has no dev or dst");
  const mac = optString(entry.lladdr);
  return { dev, address, ...(mac !== undefined ? { mac } : {}), state: stringList(entry.state) };
}

/** Pure: the entries of `ip -j neigh show` output. */
export function parseNeighboursJson(json: string): NeighbourFact[] {
  const doc = parseToolJson("ip -j neigh show", json, []);
  if (!Array.isArray(doc)) throw new KernelOutputError("ip -j neigh show", "not a JSON array");
  return doc.map(neighbourOf);
}

/** Pure: the entries of `bridge -j fdb show dev DEV` output (state folded into flags). */
export function parseFdbJson(dev: string, json: string): FdbFact[] {
  const doc = parseToolJson("bridge -j fdb show", json, []);
  if (!Array.isArray(doc)) throw new KernelOutputError("bridge -j fdb show", "not a JSON array");
  return doc.map((entry) => {
    if (!isRecord(entry)) throw new KernelOutputError("bridge -j fdb show", "an entry is not an object");
    const mac = optString(entry.mac);
    if (mac === undefined) throw new KernelOutputError("bridge -j fdb show", "an entry has no mac");
    const dst = optString(entry.dst);
    const state = optString(entry.state);
    const flags = [...stringList(entry.flags), ...(state !== undefined && state !== "" ? [state] : [])];
    return { dev: optString(entry.ifname) ?? dev, mac, ...(dst !== undefined ? { dst } : {}), flags };
  });
}

/** IPv4 and IPv6 neighbours of every device (the kernel's default listing: no NOARP/none entries). */
export async function readNeighbours(options: NetnsOption = {}): Promise<NeighbourFact[]> {
  const r = await runRead(options, ["ip", "-j", "neigh", "show"]);
  return parseNeighboursJson(r.stdout);
}

/** The forwarding entries of one device; a device that does not exist has none. */
export async function readFdb(dev: string, options: NetnsOption = {}): Promise<FdbFact[]> {
  const r = await runRead(
    options,
    ["bridge", "-j", "fdb", "show", "dev", validateIfname(dev)],
    (_c, stderr) => /Cannot find device|does not exist/.test(stderr),
  );
  if (r.code !== 0) return [];
  return parseFdbJson(dev, r.stdout);
}
