import { describe, expect, test } from "bun:test";
import type { Reply } from "./codec.ts";
import { NLMSG_ERROR } from "./constants.ts";
import { batchOutcome } from "./nft-batch-outcome.ts";
import { encodeElementBatch } from "./nft-element-batch.ts";
import { elementLayout } from "./nft-element-types.ts";

const ipv4 = elementLayout({ type: "ipv4_addr", flags: [] });
if (!ipv4) throw new Error("no layout for ipv4_addr");

describe("batchOutcome", () => {
  const batch = encodeElementBatch(
    "ip",
    "podnet-b",
    [
      { name: "cluster-ips", layout: ipv4, elements: ["10.96.0.1"] },
      { name: "service-ips", layout: ipv4, elements: ["10.96.0.2"] },
    ],
    1,
  );
  const answer = (seq: number, errno: number): Reply => ({
    type: NLMSG_ERROR,
    seq,
    errno,
    body: new Uint8Array(),
  });

  test("acknowledgements for every message: nothing refused, nothing missing", () => {
    expect(batchOutcome(batch, [answer(2, 0), answer(3, 0)])).toEqual({ refusals: [], unanswered: 0 });
  });

  test("an error names the set of its message; the batch's own sequence numbers the whole batch", () => {
    expect(batchOutcome(batch, [answer(2, 0), answer(3, 2)])).toEqual({
      refusals: [{ set: "service-ips", errno: 2 }],
      unanswered: 0,
    });
    expect(batchOutcome(batch, [answer(1, 12)])).toEqual({
      refusals: [{ set: undefined, errno: 12 }],
      unanswered: 2,
    });
    expect(batchOutcome(batch, [answer(2, 0), answer(99, 1)])).toEqual({ refusals: [], unanswered: 1 });
  });
});
