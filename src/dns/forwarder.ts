/**
 * Forwarding of names that are not the cluster's (pure: the upstream exchange and the clock are
 * passed in). Answers come from the cache while they live, with their TTLs counted down; identical
 * questions in flight share one upstream query; the reply never claims authority (AA cleared) and
 * says recursion is available (RA). When every upstream fails the client gets SERVFAIL.
 */
import type { Answer, DecodedPacket, Question } from "dns-packet";
import { errorText } from "../base/error-text.ts";
import type { ForwardRequest } from "./answer-query.ts";
import { encodeReply, RCODE } from "./dns-message.ts";
import { lookupKey, nameProblem } from "./dns-name.ts";
import { type CachedReply, cacheKey, type ResponseCache } from "./response-cache.ts";

export type AskUpstreams = (question: Question, dnssecOk: boolean) => Promise<DecodedPacket>;

export type ForwardSource = "cache" | "upstream" | "failed" | "busy";

export interface Forwarded {
  readonly message: Buffer;
  readonly rcode: number;
  readonly source: ForwardSource;
  /** Why the upstreams failed, for the log (source "failed"). */
  readonly error?: string;
}

/** Names in record data that dns-packet writes as names (a bad one would corrupt the reply). */
const NAME_DATA = new Set(["CNAME", "DNAME", "NS", "PTR"]);

function writable(a: Answer): boolean {
  if (nameProblem(a.name) !== undefined) return false;
  if (a.type === "OPT" || !NAME_DATA.has(a.type)) return true;
  return typeof a.data !== "string" || nameProblem(a.data) === undefined;
}

export class Forwarder {
  private readonly inFlight = new Map<string, Promise<CachedReply>>();

  constructor(
    private readonly ask: AskUpstreams,
    private readonly cache: ResponseCache,
    private readonly now: () => number = Date.now,
    /** Distinct questions asked upstream at once; more get SERVFAIL at once. */
    private readonly maxInFlight = 1000,
  ) {}

  async resolve(request: ForwardRequest): Promise<Forwarded> {
    const dnssecOk = request.edns?.dnssecOk ?? false;
    const key = cacheKey(request.question, dnssecOk);
    const cached = this.cache.get(key, this.now());
    if (cached !== undefined) return this.reply(request, cached, "cache");
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      if (this.inFlight.size >= this.maxInFlight) return this.reply(request, undefined, "busy");
      pending = this.ask(request.question, dnssecOk).then((reply) => {
        const kept: CachedReply = {
          rcode: (reply.flags ?? 0) & 0xf,
          answers: reply.answers ?? [],
          authorities: reply.authorities ?? [],
        };
        this.cache.put(key, kept, this.now());
        return kept;
      });
      const settle = () => this.inFlight.delete(key);
      pending.then(settle, settle);
      this.inFlight.set(key, pending);
    }
    try {
      return this.reply(request, await pending, "upstream");
    } catch (e) {
      return { ...this.reply(request, undefined, "failed"), error: errorText(e) };
    }
  }

  private reply(request: ForwardRequest, reply: CachedReply | undefined, source: ForwardSource): Forwarded {
    const asked = lookupKey(request.question.name);
    // The cache is shared by every spelling of a name: owners are written as this client asked.
    const rename = (a: Answer): Answer =>
      lookupKey(a.name) === asked ? { ...a, name: request.question.name } : a;
    const usable = reply?.answers.every(writable) === true && reply.authorities.every(writable);
    const parts = {
      id: request.id,
      authoritative: false,
      recursionDesired: request.recursionDesired,
      recursionAvailable: true,
      questions: [request.question],
      edns: request.edns,
    };
    if (usable) {
      try {
        const message = encodeReply(
          {
            ...parts,
            rcode: reply.rcode,
            answers: reply.answers.map(rename),
            authorities: reply.authorities.filter((a) => a.type !== "OPT"),
          },
          request.limit,
        );
        return { message, rcode: reply.rcode, source };
      } catch {
        // A record dns-packet decoded but cannot encode again: SERVFAIL below.
      }
    }
    const message = encodeReply({ ...parts, rcode: RCODE.SERVFAIL }, request.limit);
    return { message, rcode: RCODE.SERVFAIL, source: reply === undefined ? source : "failed" };
  }
}
