/** `--listen ADDR:PORT` of `podnet ui` and `lab ui` (pure): an IPv4 or bracketed IPv6 address and a port. */
import { tryParseIP } from "../ipnet/address.ts";

export class ListenAddressError extends Error {
  override readonly name = "ListenAddressError";
}

export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/** "127.0.0.1:7474" or "[::1]:7474" → hostname and port; port 0 picks a free one. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9]{1,3}(?:\.[0-9]{1,3}){3})):([0-9]{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  const hostname = m?.[1] ?? m?.[2];
  const octetsOk = m?.[2] === undefined || m[2].split(".").every((o) => Number(o) <= 255);
  if (!m || hostname === undefined || !octetsOk || !(port >= 0 && port <= 65535))
    throw new ListenAddressError(`--listen "${text}" must be ADDR:PORT (e.g. 127.0.0.1:7474 or [::1]:7474)`);
  return { hostname, port };
}

export function isLoopback(hostname: string): boolean {
  if (hostname === "localhost") return true;
  const bare = hostname.replace(/^\[(.*)\]$/, "$1");
  const ip = tryParseIP(bare);
  if (ip === undefined) return false;
  return ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n;
}
