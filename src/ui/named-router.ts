/**
 * Routers the operator names for the map (pure): `NAME=IP[,IP...]` as `podnet ui --router` takes
 * it, and the check every named router passes before it reaches the map (and so the page): a
 * DNS-label-like name, valid addresses, no name or address given twice.
 */
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import type { NamedRouter } from "./map-types.ts";

/** Lower-case letters, digits and inner hyphens, 1–63 characters (an RFC 1123 label). */
const ROUTER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Enough for a router with a leg on every segment of a large site; bounds what the page draws. */
export const MAX_ROUTER_ADDRESSES = 64;
const MAX_NOTE = 200;

export class NamedRouterError extends Error {
  override readonly name = "NamedRouterError";
}

/** Why `name` cannot name a router, or undefined. */
export function routerNameProblem(name: string): string | undefined {
  if (ROUTER_NAME.test(name)) return undefined;
  return `router name "${name}" must be 1 to 63 lower-case letters, digits and inner hyphens (like a DNS label)`;
}

/** `NAME=IP[,IP...]` → a named router with its addresses in canonical form; throws NamedRouterError. */
export function parseNamedRouter(text: string): NamedRouter {
  const eq = text.indexOf("=");
  if (eq < 0) throw new NamedRouterError(`router "${text}" must be NAME=IP[,IP...]`);
  const name = text.slice(0, eq);
  const list = text.slice(eq + 1);
  if (list === "") throw new NamedRouterError(`router "${name}" names no address (NAME=IP[,IP...])`);
  return checkNamedRouter({ name, addresses: list.split(",") });
}

/** The router with its addresses in canonical form, or NamedRouterError naming it and what is wrong. */
export function checkNamedRouter(router: NamedRouter): NamedRouter {
  const problem = routerNameProblem(router.name);
  if (problem !== undefined) throw new NamedRouterError(problem);
  if (router.addresses.length === 0) throw new NamedRouterError(`router "${router.name}" names no address`);
  if (router.addresses.length > MAX_ROUTER_ADDRESSES)
    throw new NamedRouterError(
      `router "${router.name}" has ${router.addresses.length} addresses, more than ${MAX_ROUTER_ADDRESSES}`,
    );
  const addresses: string[] = [];
  for (const text of router.addresses) {
    const ip = tryParseIP(text);
    if (ip === undefined)
      throw new NamedRouterError(`router "${router.name}": "${text}" is not an IP address`);
    const canonical = formatIP(ip);
    if (addresses.includes(canonical))
      throw new NamedRouterError(`router "${router.name}": address ${canonical} is given twice`);
    addresses.push(canonical);
  }
  const note = router.note;
  if (note !== undefined && (note.length > MAX_NOTE || /[\p{Cc}\p{Cf}]/u.test(note)))
    throw new NamedRouterError(
      `router "${router.name}": its note must be at most ${MAX_NOTE} characters without control characters`,
    );
  return { name: router.name, addresses, ...(note !== undefined ? { note } : {}) };
}

/** Every router checked, and no name or address held by two of them; throws NamedRouterError. */
export function checkNamedRouters(routers: readonly NamedRouter[]): NamedRouter[] {
  const checked = routers.map(checkNamedRouter);
  const holder = new Map<string, string>();
  const names = new Set<string>();
  for (const r of checked) {
    if (names.has(r.name)) throw new NamedRouterError(`router "${r.name}" is named twice`);
    names.add(r.name);
    for (const a of r.addresses) {
      const other = holder.get(a);
      if (other !== undefined)
        throw new NamedRouterError(`address ${a} is given to both router "${other}" and router "${r.name}"`);
      holder.set(a, r.name);
    }
  }
  return checked;
}
