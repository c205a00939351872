/**
 * CHECK: is the attachment still what ADD built? Compares the previous result with the kernel's
 * state inside the pod (interface, addresses, routes) and on the host (veth, bridge port).
 */
import type { Result } from "../cni/result.ts";
import { formatIP, ipEquals, parseIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix, parseInterfaceCIDR, parsePrefix } from "../ipnet/prefix.ts";
import type { LinkAddrs, NetnsTarget, RouteInfo } from "../linux/ip.ts";
import { getLink, ipJson, netnsAt } from "../linux/ip.ts";
import { assertNetnsFile } from "../linux/netns.ts";
import type { Mode } from "./config.ts";

export class CheckFailedError extends Error {
  override readonly name = "CheckFailedError";
}

export interface CheckInput {
  readonly mode: Mode;
  readonly bridge: string;
  readonly hostVeth: string;
  readonly ifname: string;
  readonly netnsPath: string;
  readonly prevResult: Result;
}

function normalizeDst(dst: string, family: "inet" | "inet6"): string {
  if (dst === "default") return family === "inet" ? "0.0.0.0/0" : "::/0";
  const withLength = dst.includes("/") ? dst : `${dst}/${family === "inet" ? 32 : 128}`;
  return formatPrefix(parsePrefix(withLength, { strict: false }));
}

function routesIn(target: NetnsTarget): { dst: string; gw: string | undefined; dev: string | undefined }[] {
  const out = [];
  for (const family of ["inet", "inet6"] as const) {
    const routes = ipJson<RouteInfo>(
      [family === "inet" ? "-4" : "-6", "route", "show", "table", "main"],
      target,
    );
    for (const r of routes) {
      out.push({
        dst: normalizeDst(r.dst, family),
        gw: r.gateway ? formatIP(parseIP(r.gateway)) : undefined,
        dev: r.dev,
      });
    }
  }
  return out;
}

/** The index of the pod's interface in the result (the one with a sandbox and our ifname). */
function containerInterfaceIndex(result: Result, ifname: string): number | undefined {
  const i = (result.interfaces ?? []).findIndex((itf) => itf.name === ifname && itf.sandbox);
  return i < 0 ? undefined : i;
}

export function checkAttachment(input: CheckInput): void {
  const target = netnsAt(input.netnsPath);
  const where = `interface "${input.ifname}" in "${input.netnsPath}"`;
  assertNetnsFile(input.netnsPath);
  // `ip addr show dev X` fails outright for a missing X; ask whether it exists first, so the
  // runtime hears "missing" and not an iproute2 error.
  if (!getLink(input.ifname, target)) throw new CheckFailedError(`${where} is missing`);
  const link = ipJson<LinkAddrs>(["addr", "show", "dev", input.ifname], target)[0];
  if (!link) throw new CheckFailedError(`${where} is missing`);
  if (!link.flags?.includes("UP")) throw new CheckFailedError(`${where} is down`);

  const index = containerInterfaceIndex(input.prevResult, input.ifname);
  const expectedIps = (input.prevResult.ips ?? []).filter(
    (c) => c.interface === undefined || c.interface === index,
  );
  for (const c of expectedIps) {
    const { ip, prefix } = parseInterfaceCIDR(c.address);
    const found = link.addr_info.some((a) => {
      const local = parseIP(a.local);
      return ipEquals(local, ip) && a.prefixlen === prefix.length;
    });
    if (!found) throw new CheckFailedError(`${where} lacks address ${c.address}`);
  }

  const present = routesIn(target);
  for (const r of input.prevResult.routes ?? []) {
    const dst: IPPrefix = parsePrefix(r.dst, { strict: false });
    const want = formatPrefix(dst);
    const gw = r.gw ? formatIP(parseIP(r.gw)) : undefined;
    const found = present.some((p) => p.dst === want && (gw === undefined || p.gw === gw));
    if (!found)
      throw new CheckFailedError(
        `route to ${r.dst}${gw ? ` via ${gw}` : ""} is missing in "${input.netnsPath}"`,
      );
  }

  const hostLink = getLink(input.hostVeth, undefined, false);
  if (!hostLink) throw new CheckFailedError(`host veth "${input.hostVeth}" of ${where} is missing`);
  if (input.mode === "bridge" && hostLink.master !== input.bridge) {
    throw new CheckFailedError(`host veth "${input.hostVeth}" is not a port of bridge "${input.bridge}"`);
  }
}
