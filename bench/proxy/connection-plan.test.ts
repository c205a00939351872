import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import {
  ClientResultError,
  connectionTargets,
  parseClientResult,
  roundOrder,
  shares,
} from "./connection-plan.ts";

describe("connectionTargets", () => {
  test("alternates the last Service with random ones, reproducibly per seed", () => {
    const targets = connectionTargets(100, 1000, 42);
    expect(targets).toHaveLength(1000);
    targets.forEach((t, i) => {
      expect(t.kind).toBe(i % 2 === 0 ? "last" : "random");
      if (t.kind === "last") expect(t.service).toBe(99);
      expect(Number.isInteger(t.service) && t.service >= 0 && t.service < 100).toBe(true);
    });
    expect(connectionTargets(100, 1000, 42)).toEqual(targets);
    expect(connectionTargets(100, 1000, 43)).not.toEqual(targets);
  });

  test("random targets spread over the whole table", () => {
    const random = connectionTargets(10_000, 4000, 1).filter((t) => t.kind === "random");
    const quarters = [0, 0, 0, 0];
    for (const t of random) quarters[Math.floor(t.service / 2500)]! += 1;
    for (const q of quarters) expect(q).toBeGreaterThan(400);
  });

  test("refuses an empty table", () => {
    expect(() => connectionTargets(0, 1, 1)).toThrow("Cannot pick targets from 0 Services");
  });
});

describe("roundOrder", () => {
  test("each case is first exactly once per cycle and no case is lost", () => {
    const cases = ["a", "b", "c", "d"];
    const firsts = [0, 1, 2, 3].map((r) => roundOrder(cases, r)[0]);
    expect(firsts).toEqual(["a", "b", "c", "d"]);
    for (let r = 0; r < 8; r++) expect([...roundOrder(cases, r)].sort()).toEqual(cases);
    expect(roundOrder(cases, 5)).toEqual(roundOrder(cases, 1));
    expect(roundOrder([], 3)).toEqual([]);
  });
});

describe("shares", () => {
  test("adds up to the total and differs by at most one (seeded)", () => {
    const random = mulberry32(9);
    for (let i = 0; i < 200; i++) {
      const total = Math.floor(random() * 5000);
      const parts = 1 + Math.floor(random() * 20);
      const s = shares(total, parts);
      expect(s).toHaveLength(parts);
      expect(s.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
    }
    expect(shares(10, 4)).toEqual([3, 3, 2, 2]);
  });
});

describe("parseClientResult", () => {
  const good = {
    samples: {
      last: { connectMs: [0.1, 0.2], firstByteMs: [0.2, 0.3] },
      random: { connectMs: [], firstByteMs: [] },
    },
    errors: 1,
    wrongEndpoint: 0,
    firstErrors: ["10.96.0.1:80: ECONNREFUSED"],
  };

  test("reads what the client prints", () => {
    expect(parseClientResult(`${JSON.stringify(good)}\n`)).toEqual(good);
  });

  test("refuses output that is not a complete result", () => {
    const bad: [string, string][] = [
      ["oops", "not JSON"],
      ["null", "not an object"],
      [JSON.stringify({ ...good, errors: -1 }), "errors is not a count"],
      [JSON.stringify({ ...good, samples: { last: good.samples.last } }), "samples.random.connectMs"],
      [
        JSON.stringify({ ...good, samples: { ...good.samples, last: { connectMs: [1], firstByteMs: [] } } }),
        "samples.last has lists of different lengths",
      ],
      [
        JSON.stringify({
          ...good,
          samples: { ...good.samples, last: { connectMs: ["1"], firstByteMs: [1] } },
        }),
        "samples.last.connectMs",
      ],
      [JSON.stringify({ ...good, firstErrors: [3] }), "firstErrors"],
    ];
    for (const [text, message] of bad) {
      expect(() => parseClientResult(text)).toThrow(ClientResultError);
      expect(() => parseClientResult(text)).toThrow(message);
    }
  });
});
