/**
 * Which requests `podnet ui`'s API accepts by where they come from (pure): the Host must be the
 * address the server listens on (or localhost/127.0.0.1/[::1] when it listens on loopback), so a
 * DNS-rebound name cannot reach it; a cross-site request (an Origin other than the server's own,
 * or Sec-Fetch-Site other than same-origin/none) is refused, so another site's page cannot read
 * the map or fire probes with an <img>.
 */
import { tryParseIP } from "../ipnet/address.ts";
import { isLoopback } from "./listen-address.ts";

/** The address in a Host header ("ADDR:PORT", "[v6]:PORT", "name:PORT") when its port is `port`. */
function hostAddress(host: string, port: number): string | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+)):([0-9]+)$/.exec(host);
  if (!m || Number(m[3]) !== port) return undefined;
  return m[1] ?? m[2];
}

const sameIP = (a: string, b: string) => {
  const x = tryParseIP(a);
  const y = tryParseIP(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
};

/**
 * Why the request is refused (403), or undefined when it may go on. `hostname` is the listen
 * address. The Host must carry the port and name that address; on loopback "localhost" or any
 * loopback address (the lab relays 127.0.0.x of the root namespace into node1's 127.0.0.1); on a
 * wildcard (0.0.0.0, ::) any IP address. A DNS name other than localhost is never accepted, so a
 * rebound name cannot reach the API.
 */
export function originRefusal(req: Request, hostname: string, port: number): string | undefined {
  const host = (req.headers.get("host") ?? "").toLowerCase();
  const addr = hostAddress(host, port);
  const wildcard = hostname === "0.0.0.0" || hostname === "::";
  const loopback = isLoopback(hostname);
  const ok =
    addr !== undefined &&
    (sameIP(addr, hostname) ||
      (loopback && isLoopback(addr)) ||
      (wildcard && tryParseIP(addr) !== undefined));
  if (!ok) return `Host "${host.slice(0, 100)}" is not this server's address`;
  const origin = req.headers.get("origin");
  if (origin !== null && origin.toLowerCase() !== `http://${host}`)
    return "cross-origin requests are refused";
  const site = req.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") return "cross-site requests are refused";
  return undefined;
}

/** Whether the browser says the request comes from the page itself (fetch from the same origin). */
export const isSameOriginFetch = (req: Request): boolean =>
  req.headers.get("sec-fetch-site") === "same-origin";
