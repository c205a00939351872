/**
 * Parses what `ip -ts monitor route` prints (pure). With `-ts` every line starts with the
 * wall-clock time at which `ip` read the kernel's netlink notification, in local time with
 * microseconds: `[2026-11-21T09:47:20.408150] 10.9.0.0/24 dev d0 proto 200 scope link`.
 * Removals start with `Deleted `.
 */

export interface RouteEvent {
  /** Wall-clock time of the notification, ms since the epoch (fractional: µs kept). */
  readonly atMs: number;
  readonly deleted: boolean;
  /** The destination as printed (`default`, `10.244.3.0/24`, `192.0.2.7`). */
  readonly dst: string;
  /** The routing protocol (`proto 200` → "200"), when printed. */
  readonly proto: string | undefined;
  readonly text: string;
}

// Route types iproute2 prints before the destination (unicast is the default and not printed).
const ROUTE_TYPES = new Set([
  "local",
  "broadcast",
  "multicast",
  "anycast",
  "blackhole",
  "unreachable",
  "prohibit",
  "throw",
  "nat",
  "xresolve",
  "unicast",
]);

const STAMP = /^\[(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{1,9})\]\s+(.*)$/;

/** `undefined` for lines that are not route notifications (blank lines, other output). */
export function parseRouteEvent(line: string): RouteEvent | undefined {
  const m = STAMP.exec(line.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = "0", rest = ""] = m;
  // `ip` formats the time with localtime(), so read it back as local time.
  const whole = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime();
  const atMs = whole + Number(`0.${frac}`) * 1000;
  let tokens = rest.trim().split(/\s+/);
  const deleted = tokens[0] === "Deleted";
  if (deleted) tokens = tokens.slice(1);
  if (tokens[0] !== undefined && ROUTE_TYPES.has(tokens[0])) tokens = tokens.slice(1);
  const dst = tokens[0];
  if (dst === undefined || dst === "") return undefined;
  const p = tokens.indexOf("proto");
  const proto = p >= 0 ? tokens[p + 1] : undefined;
  return { atMs, deleted, dst, proto, text: rest.trim() };
}
