/**
 * Forwarding of names that are not the cluster's (pure: the upstream exchange and the clock are
 * passed in). Answers come from the cache while they live, with their TTLs counted down; identical
 * questions in flight share one upstream query; the reply never claims authority (AA cleared) and
 * says recursion is available (RA). When every upstream fails the client gets SERVFAIL.
 *
 * Fairness: a question that needs the upstreams costs its client more than one from the zone or
 * the cache (a socket and a round trip), so each client has its own, smaller forwarding rate and
 * its own cap on questions waiting for the upstreams, well below the global cap. A client over
 * either gets SERVFAIL ("busy") at once; every other client is still forwarded.
 */
import type { Answer, DecodedPacket, Question } from "dns-packet";
import { errorText } from "../base/error-text.ts";
import type { ForwardRequest } from "./answer-query.ts";
import { encodeReply, RCODE } from "./dns-message.ts";
import { lookupKey, nameProblem } from "./dns-name.ts";
import { RateLimiter, type RateLimitOptions } from "./rate-limiter.ts";
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

export interface ForwarderLimits {
  /** Distinct questions asked upstream at once, over all clients; more get SERVFAIL at once. */
  readonly maxInFlight?: number;
  /** Questions of one client waiting for the upstreams at once (shared ones count for each). */
  readonly maxInFlightPerClient?: number;
  /** Each client's rate of questions that go to the upstreams (cache hits are free). */
  readonly perClientRate?: RateLimitOptions;
}

export const DEFAULT_FORWARDER_LIMITS = {
  maxInFlight: 1000,
  maxInFlightPerClient: 32,
  perClientRate: { perSecond: 100, burst: 200, maxClients: 10_000 },
} as const satisfies Required<ForwarderLimits>;

export class Forwarder {
  private readonly inFlight = new Map<string, Promise<CachedReply>>();
  /** client → its questions waiting for the upstreams */
  private readonly waiting = new Map<string, number>();
  private readonly maxInFlight: number;
  private readonly maxInFlightPerClient: number;
  private readonly rate: RateLimiter;

  constructor(
    private readonly ask: AskUpstreams,
    private readonly cache: ResponseCache,
    private readonly now: () => number = Date.now,
    limits: ForwarderLimits = {},
  ) {
    this.maxInFlight = limits.maxInFlight ?? DEFAULT_FORWARDER_LIMITS.maxInFlight;
    this.maxInFlightPerClient = limits.maxInFlightPerClient ?? DEFAULT_FORWARDER_LIMITS.maxInFlightPerClient;
    if (!(this.maxInFlight >= 1) || !(this.maxInFlightPerClient >= 1))
      throw new RangeError(
        `Invalid DNS forwarding limits: ${this.maxInFlight} in flight, ${this.maxInFlightPerClient} per client`,
      );
    this.rate = new RateLimiter(limits.perClientRate ?? DEFAULT_FORWARDER_LIMITS.perClientRate);
  }

  /** Questions of `client` waiting for the upstreams now. */
  waitingFor(client: string): number {
    return this.waiting.get(client) ?? 0;
  }

  /** Answers `request` of `client` (the key the rate limit uses) from the cache or the upstreams. */
  async resolve(request: ForwardRequest, client = ""): Promise<Forwarded> {
    const dnssecOk = request.edns?.dnssecOk ?? false;
    const key = cacheKey(request.question, dnssecOk);
    const cached = this.cache.get(key, this.now());
    if (cached !== undefined) return this.reply(request, cached, "cache");
    const waiting = this.waitingFor(client);
    if (waiting >= this.maxInFlightPerClient) return this.reply(request, undefined, "busy");
    const pending = this.inFlight.get(key);
    if (pending === undefined && this.inFlight.size >= this.maxInFlight)
      return this.reply(request, undefined, "busy");
    if (!this.rate.allow(client, this.now())) return this.reply(request, undefined, "busy");
    this.waiting.set(client, waiting + 1);
    try {
      return await this.fromUpstreams(request, key, dnssecOk, pending);
    } finally {
      const n = this.waitingFor(client) - 1;
      if (n > 0) this.waiting.set(client, n);
      else this.waiting.delete(client);
    }
  }

  private async fromUpstreams(
    request: ForwardRequest,
    key: string,
    dnssecOk: boolean,
    pending: Promise<CachedReply> | undefined,
  ): Promise<Forwarded> {
    if (pending === undefined) {
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
