/**
 * Which drift concerns what explain or trace looks at (pure), one rule for both: node-wide drift
 * on a node in scope; drift whose subject names one of the addresses (bare, or with a port);
 * drift about a prefix holding one of them; drift whose subject is one of the scope's subjects
 * (a block, an endpoint, a VTEP MAC, a node). Every comparison is exact — addresses and prefixes
 * parsed, never substrings: 10.244.0.2 is not 10.244.0.20, 2001:db8::1 not 2001:db8::1:5.
 */

import { canonicalIP, sameIP } from "../ipnet/address.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { type Drift, NODE_WIDE_DRIFT } from "./drift-kinds.ts";
import { inPrefix, prefixOrUndefined } from "./trace-net.ts";

export interface DriftScope {
  /** The addresses in question: a subject naming one (with any port) concerns the scope. */
  readonly addresses: readonly string[];
  /** Further subjects compared exactly: blocks, "ip:port" endpoints, MACs, node names. */
  readonly subjects?: readonly string[];
  /** Only drift on these nodes, when given. */
  readonly nodes?: ReadonlySet<string>;
}

/** A drift subject, parsed: an address with an optional port (and protocol), a prefix, or other text. */
export type DriftSubject =
  | { readonly kind: "address"; readonly ip: string; readonly port?: number }
  | { readonly kind: "prefix"; readonly prefix: string }
  | { readonly kind: "text"; readonly text: string };

const WITH_PORT = /^\[?([0-9A-Fa-f.:]+?)\]?:(\d{1,5})(?:\/(?:tcp|udp|sctp))?$/;

export function parseDriftSubject(subject: string): DriftSubject {
  const ip = canonicalIP(subject);
  if (ip !== undefined) return { kind: "address", ip };
  const m = WITH_PORT.exec(subject);
  const host = m?.[1] !== undefined ? canonicalIP(m[1]) : undefined;
  if (m && host !== undefined) return { kind: "address", ip: host, port: Number(m[2]) };
  if (subject.includes("/")) {
    const p = prefixOrUndefined(subject);
    if (p) return { kind: "prefix", prefix: formatPrefix(p) };
  }
  return { kind: "text", text: subject.toLowerCase() };
}

function sameSubject(a: DriftSubject, b: DriftSubject): boolean {
  if (a.kind === "address" && b.kind === "address") return sameIP(a.ip, b.ip) && a.port === b.port;
  if (a.kind === "prefix" && b.kind === "prefix") return a.prefix === b.prefix;
  if (a.kind === "text" && b.kind === "text") return a.text === b.text;
  return false;
}

/** Whether one drift finding concerns the scope. */
export function driftConcerns(d: Drift, scope: DriftScope): boolean {
  if (scope.nodes && !scope.nodes.has(d.node)) return false;
  if (NODE_WIDE_DRIFT.has(d.kind)) return true;
  const subject = parseDriftSubject(d.subject);
  if (subject.kind === "address" && scope.addresses.some((a) => sameIP(a, subject.ip))) return true;
  if (subject.kind === "prefix" && scope.addresses.some((a) => inPrefix(a, subject.prefix))) return true;
  return (scope.subjects ?? []).some((s) => sameSubject(parseDriftSubject(s), subject));
}

/** The drift that concerns the scope, in its order. */
export function relevantDrift(drift: readonly Drift[], scope: DriftScope): Drift[] {
  return drift.filter((d) => driftConcerns(d, scope));
}
