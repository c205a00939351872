/**
 * The BGP part of an agent's facts (NodeFacts.bgp), checked like the rest of the answer
 * (diagnosis-answers.ts): peer names as the BGP config allows them, addresses, AS numbers, counts,
 * BIRD's state words, and the control socket path that reaches a `birdc -s` command line.
 */
import { BGP_PEER_NAME } from "./bgp-config.ts";
import type { Checker, Json } from "./diagnosis-checker.ts";

const MAX_AS = 4294967295;
/** BIRD's BGP states and "unknown". */
const BGP_STATE = /^[A-Za-z]{1,32}$/;
/** An absolute path of characters safe on a command line, no "..". */
const SOCKET_PATH = /^\/[A-Za-z0-9_./-]{1,4095}$/;
const MAX_SESSIONS = 1024;
/** A node's blocks: far more than any node holds (a /24 per 110 pods). */
const MAX_ANNOUNCED = 4096;
/** BIRD symbols as the agent names its protocols: a letter, then letters, digits and "_". */
const BIRD_SYMBOL = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function count(c: Checker, v: unknown, field: string): number {
  return c.integer(v, field, 0, Number.MAX_SAFE_INTEGER);
}

function checkSession(c: Checker, s: Json, at: string): void {
  c.matching(s.peer, `${at}.peer`, BGP_PEER_NAME, "a BGP peer name (a-z 0-9 -)");
  c.optional(s.protocol, (v) => c.matching(v, `${at}.protocol`, BIRD_SYMBOL, "a BIRD protocol name"));
  c.ip(s.neighbor, `${at}.neighbor`);
  c.integer(s.localAs, `${at}.localAs`, 1, MAX_AS);
  c.integer(s.as, `${at}.as`, 1, MAX_AS);
  c.matching(s.state, `${at}.state`, BGP_STATE, "a BGP state");
  c.optionalString(s.since, `${at}.since`, 64);
  count(c, s.received, `${at}.received`);
  count(c, s.advertised, `${at}.advertised`);
  c.optionalString(s.lastError, `${at}.lastError`, 4096);
}

/** Checks `value` (NodeFacts.bgp, present) in place; throws naming the field. */
export function checkBgpFact(c: Checker, value: unknown): void {
  const b = c.object(value, "bgp");
  c.boolean(b.enabled, "bgp.enabled");
  c.boolean(b.running, "bgp.running");
  c.optional(b.routerId, (v) => c.ip(v, "bgp.routerId"));
  for (const [i, x] of c.array(b.announced, "bgp.announced", MAX_ANNOUNCED).entries())
    c.cidr(x, `bgp.announced[${i}]`);
  c.array(b.sessions, "bgp.sessions", MAX_SESSIONS);
  c.objects(b.sessions, "bgp.sessions", (s, at) => checkSession(c, s, at));
  c.optionalString(b.lastError, "bgp.lastError", 4096);
  if (b.controlSocket !== undefined) {
    const path = c.matching(
      b.controlSocket,
      "bgp.controlSocket",
      SOCKET_PATH,
      "an absolute path of A-Z a-z 0-9 _ . / -",
    );
    if (path.split("/").includes(".."))
      throw c.fail("bgp.controlSocket", `must not contain "..", not ${JSON.stringify(path)}`);
  }
}
