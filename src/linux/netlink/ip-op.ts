/**
 * The `ip` command lines podnet plans, read back into typed operations so they can be carried
 * out over netlink. Only the forms the planner writes are understood; anything else is
 * `undefined`, and the caller falls back to running `ip` itself.
 */
import type { IPAddress } from "../../ipnet/address.ts";
import { parseIP, tryParseIP } from "../../ipnet/address.ts";
import type { IPPrefix } from "../../ipnet/prefix.ts";
import { parseInterfaceCIDR, parsePrefix, prefixFromIP } from "../../ipnet/prefix.ts";

export interface LinkSpec {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
}

export type IpOp =
  | { readonly op: "add-bridge"; readonly link: LinkSpec }
  | { readonly op: "add-veth"; readonly link: LinkSpec; readonly peer: LinkSpec; readonly peerNetns?: string }
  | { readonly op: "del-link"; readonly dev: string }
  | { readonly op: "set-up"; readonly dev: string }
  | { readonly op: "set-master"; readonly dev: string; readonly master: string }
  | { readonly op: "set-alias"; readonly dev: string; readonly alias: string }
  | { readonly op: "set-hairpin"; readonly dev: string; readonly on: boolean }
  | {
      readonly op: "addr";
      readonly replace: boolean;
      readonly dev: string;
      readonly ip: IPAddress;
      readonly prefixLength: number;
      readonly nodad: boolean;
    }
  | {
      readonly op: "route-add";
      readonly dst: IPPrefix;
      readonly via?: IPAddress;
      readonly dev: string;
      readonly scopeLink: boolean;
      readonly src?: IPAddress;
    };

/** Reads `key value` pairs; undefined when a key repeats, is unknown or lacks its value. */
function pairs(tokens: readonly string[], keys: readonly string[]): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (let i = 0; i < tokens.length; i += 2) {
    const k = tokens[i] as string;
    const v = tokens[i + 1];
    if (!keys.includes(k) || v === undefined || out.has(k)) return undefined;
    out.set(k, v);
  }
  return out;
}

function linkSpec(tokens: readonly string[]): LinkSpec | undefined {
  const p = pairs(tokens, ["name", "address", "mtu"]);
  const name = p?.get("name");
  if (!p || !name) return undefined;
  const mtu = p.get("mtu");
  const mac = p.get("address");
  if (mac !== undefined && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) return undefined;
  if (mtu !== undefined && !/^\d+$/.test(mtu)) return undefined;
  return { name, ...(mac ? { mac } : {}), ...(mtu ? { mtu: Number(mtu) } : {}) };
}

function parseLinkAdd(rest: readonly string[]): IpOp | undefined {
  const typeAt = rest.indexOf("type");
  if (typeAt < 0) return undefined;
  const link = linkSpec(rest.slice(0, typeAt));
  const kind = rest[typeAt + 1];
  if (!link) return undefined;
  if (kind === "bridge" && rest.length === typeAt + 2) return { op: "add-bridge", link };
  if (kind !== "veth" || rest[typeAt + 2] !== "peer") return undefined;
  let peerTokens = rest.slice(typeAt + 3);
  let peerNetns: string | undefined;
  const nsAt = peerTokens.indexOf("netns");
  if (nsAt >= 0) {
    if (nsAt !== peerTokens.length - 2) return undefined;
    peerNetns = peerTokens[nsAt + 1];
    peerTokens = peerTokens.slice(0, nsAt);
  }
  const peer = linkSpec(peerTokens);
  if (!peer) return undefined;
  return { op: "add-veth", link, peer, ...(peerNetns ? { peerNetns } : {}) };
}

function parseLinkSet(rest: readonly string[]): IpOp | undefined {
  if (rest[0] !== "dev" || rest[1] === undefined) return undefined;
  const dev = rest[1];
  const tail = rest.slice(2);
  if (tail.length === 1 && tail[0] === "up") return { op: "set-up", dev };
  if (tail.length === 2 && tail[0] === "master") return { op: "set-master", dev, master: tail[1] as string };
  if (tail.length === 2 && tail[0] === "alias") return { op: "set-alias", dev, alias: tail[1] as string };
  if (tail.length === 4 && tail[0] === "type" && tail[1] === "bridge_slave" && tail[2] === "hairpin") {
    if (tail[3] === "on" || tail[3] === "off") return { op: "set-hairpin", dev, on: tail[3] === "on" };
  }
  return undefined;
}

function parseAddr(verb: string, rest: readonly string[]): IpOp | undefined {
  if (verb !== "add" && verb !== "replace") return undefined;
  const [cidr, devKw, dev, ...flags] = rest;
  if (!cidr || devKw !== "dev" || !dev) return undefined;
  if (flags.length > 1 || (flags.length === 1 && flags[0] !== "nodad")) return undefined;
  const { ip, prefix } = parseInterfaceCIDR(cidr);
  return {
    op: "addr",
    replace: verb === "replace",
    dev,
    ip,
    prefixLength: prefix.length,
    nodad: flags.length === 1,
  };
}

function parseRouteAdd(rest: readonly string[]): IpOp | undefined {
  const [dstText, ...tail] = rest;
  if (!dstText) return undefined;
  const bare = dstText.includes("/") ? undefined : tryParseIP(dstText);
  const dst = bare
    ? prefixFromIP(bare, bare.family === 4 ? 32 : 128)
    : parsePrefix(dstText, { strict: false });
  const p = pairs(tail, ["via", "dev", "scope", "src"]);
  const dev = p?.get("dev");
  if (!p || !dev) return undefined;
  const scope = p.get("scope");
  if (scope !== undefined && scope !== "link") return undefined;
  const via = p.get("via");
  const src = p.get("src");
  return {
    op: "route-add",
    dst,
    dev,
    scopeLink: scope === "link",
    ...(via ? { via: parseIP(via) } : {}),
    ...(src ? { src: parseIP(src) } : {}),
  };
}

export function parseIpCommand(cmd: readonly string[]): IpOp | undefined {
  try {
    const [object, verb, ...rest] = cmd;
    if (object === "link" && verb === "add") return parseLinkAdd(rest);
    if (object === "link" && verb === "set") return parseLinkSet(rest);
    if (object === "link" && verb === "del" && rest[0] === "dev" && rest.length === 2) {
      return { op: "del-link", dev: rest[1] as string };
    }
    if (object === "addr") return parseAddr(verb ?? "", rest);
    if (object === "route" && verb === "add") return parseRouteAdd(rest);
    return undefined;
  } catch {
    // An address that does not parse is for `ip` to report, in its own words.
    return undefined;
  }
}
