import { describe, expect, test } from "bun:test";
import { RateLimiter } from "./rate-limiter.ts";

describe("the per-client rate limit", () => {
  test("a client gets its burst, then its rate; another client is not affected", () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 20, maxClients: 100 });
    let allowed = 0;
    for (let i = 0; i < 1000; i++) if (limiter.allow("10.244.1.5", 0)) allowed++;
    expect(allowed).toBe(20);
    expect(limiter.allow("10.244.2.9", 0)).toBe(true);
    // Half a second later: five more tokens.
    allowed = 0;
    for (let i = 0; i < 100; i++) if (limiter.allow("10.244.1.5", 500)) allowed++;
    expect(allowed).toBe(5);
  });

  test("the map of clients is bounded", () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxClients: 3 });
    for (let i = 0; i < 100; i++) limiter.allow(`10.0.0.${i}`, 0);
    expect(limiter.clients).toBe(3);
    expect(() => new RateLimiter({ perSecond: 0, burst: 1, maxClients: 1 })).toThrow(
      "Invalid DNS rate limit",
    );
  });
});
