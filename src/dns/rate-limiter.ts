/**
 * A token bucket per client address (pure; the clock is passed in), so one pod that sends 10,000
 * queries a second is held to its rate while every other pod is answered. The map of buckets is
 * bounded: when it is full the least recently seen client is forgotten (it starts with a full
 * bucket when it comes back, which only ever favours a client that was quiet).
 */

export interface RateLimitOptions {
  /** Tokens (queries) added per second. */
  readonly perSecond: number;
  /** Bucket size: how many queries a quiet client may send at once. */
  readonly burst: number;
  /** How many clients are tracked at most. */
  readonly maxClients: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 1000, burst: 2000, maxClients: 10_000 };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT) {
    if (!(options.perSecond > 0) || !(options.burst >= 1) || !(options.maxClients >= 1))
      throw new RangeError(
        `Invalid DNS rate limit ${options.perSecond}/s burst ${options.burst} for ${options.maxClients} clients`,
      );
  }

  get clients(): number {
    return this.buckets.size;
  }

  /** Takes one token from the client's bucket; false when it is empty (drop the query). */
  allow(client: string, nowMs: number): boolean {
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= this.options.maxClients) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
      bucket = { tokens: this.options.burst, atMs: nowMs };
    } else {
      this.buckets.delete(client);
      const refill = (Math.max(0, nowMs - bucket.atMs) / 1000) * this.options.perSecond;
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + refill);
      bucket.atMs = nowMs;
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
