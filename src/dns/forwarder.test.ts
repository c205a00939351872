import { describe, expect, test } from "bun:test";
import type { DecodedPacket, Question } from "dns-packet";
import * as dnsPacket from "dns-packet";
import type { ForwardRequest } from "./answer-query.ts";
import { decodeMessage } from "./dns-message.ts";
import { Forwarder } from "./forwarder.ts";
import { ResponseCache } from "./response-cache.ts";

function upstreamReply(question: Question, ip: string, ttl: number): DecodedPacket {
  // Through the wire format, as the real client would hand it over.
  return dnsPacket.decode(
    dnsPacket.encode({
      type: "response",
      id: 1,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE,
      questions: [question],
      answers: [{ type: "A", name: question.name.toLowerCase(), ttl, class: "IN", data: ip }],
    }),
  );
}

const request = (name: string, id = 99): ForwardRequest => ({
  id,
  question: { name, type: "A", class: "IN" },
  recursionDesired: true,
  edns: undefined,
  limit: 512,
});

describe("forwarding", () => {
  test("the reply has the client's ID and case, no AA, RA set; the second comes from the cache, TTL lower", async () => {
    let now = 0;
    let asked = 0;
    const forwarder = new Forwarder(
      async (q) => {
        asked++;
        return upstreamReply(q, "192.0.2.7", 300);
      },
      new ResponseCache(),
      () => now,
    );
    const first = await forwarder.resolve(request("WWW.example.TEST"));
    const r = dnsPacket.decode(first.message);
    expect([first.source, r.id, r.flag_aa, r.flag_ra, r.flag_rd]).toEqual([
      "upstream",
      99,
      false,
      true,
      true,
    ]);
    expect(r.answers?.map((a) => [a.name, "ttl" in a ? a.ttl : 0])).toEqual([["WWW.example.TEST", 300]]);
    now = 100_000;
    const second = await forwarder.resolve(request("www.example.test", 100));
    const r2 = dnsPacket.decode(second.message);
    expect([second.source, r2.id, asked]).toEqual(["cache", 100, 1]);
    expect(r2.answers?.map((a) => [a.name, "ttl" in a ? a.ttl : 0])).toEqual([["www.example.test", 200]]);
  });

  test("identical questions in flight share one upstream query", async () => {
    let asked = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const forwarder = new Forwarder(async (q) => {
      asked++;
      await gate;
      return upstreamReply(q, "192.0.2.7", 60);
    }, new ResponseCache());
    const both = Promise.all([
      forwarder.resolve(request("a.example.test", 1)),
      forwarder.resolve(request("a.example.test", 2)),
    ]);
    release();
    const [one, two] = await both;
    expect([asked, dnsPacket.decode(one.message).id, dnsPacket.decode(two.message).id]).toEqual([1, 1, 2]);
  });

  test("when the upstreams fail the client gets SERVFAIL, and nothing is cached", async () => {
    let fail = true;
    const forwarder = new Forwarder(async (q) => {
      if (fail) throw new Error("all upstreams timed out");
      return upstreamReply(q, "192.0.2.8", 60);
    }, new ResponseCache());
    const failed = await forwarder.resolve(request("b.example.test"));
    expect([failed.source, decodeMessage(failed.message).rcode, failed.error]).toEqual([
      "failed",
      "SERVFAIL",
      "all upstreams timed out",
    ]);
    fail = false;
    expect((await forwarder.resolve(request("b.example.test"))).source).toBe("upstream");
  });

  test("an upstream record whose name cannot be written back is SERVFAIL, not a corrupt reply", async () => {
    const forwarder = new Forwarder(
      async (q) => ({
        ...upstreamReply(q, "192.0.2.9", 60),
        answers: [{ type: "CNAME", name: q.name, data: "b\u00e9d.test" }],
      }),
      new ResponseCache(),
    );
    expect(decodeMessage((await forwarder.resolve(request("c.example.test"))).message).rcode).toBe(
      "SERVFAIL",
    );
  });

  test("one client filling its share of upstream slots does not starve another client", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const forwarder = new Forwarder(
      async (q) => {
        if (q.name.endsWith(".slow.test")) await gate;
        return upstreamReply(q, "192.0.2.7", 60);
      },
      new ResponseCache(),
      () => 0,
      { maxInFlight: 10, maxInFlightPerClient: 4 },
    );
    const flood = Array.from({ length: 20 }, (_, i) => forwarder.resolve(request(`n${i}.slow.test`), "A"));
    expect(forwarder.waitingFor("A")).toBe(4);
    const other = await forwarder.resolve(request("www.example.test"), "B");
    expect([other.source, other.rcode]).toEqual(["upstream", 0]);
    release();
    const sources = (await Promise.all(flood)).map((f) => f.source);
    expect([
      sources.filter((s) => s === "upstream").length,
      sources.filter((s) => s === "busy").length,
    ]).toEqual([4, 16]);
    expect(forwarder.waitingFor("A")).toBe(0);
  });

  test("questions that go upstream have their own per-client rate; cached answers do not use it", async () => {
    let now = 0;
    const forwarder = new Forwarder(
      async (q) => upstreamReply(q, "192.0.2.7", 600),
      new ResponseCache(),
      () => now,
      { perClientRate: { perSecond: 2, burst: 3, maxClients: 10 } },
    );
    const sources: string[] = [];
    for (let i = 0; i < 5; i++)
      sources.push((await forwarder.resolve(request(`r${i}.example.test`), "A")).source);
    expect(sources).toEqual(["upstream", "upstream", "upstream", "busy", "busy"]);
    expect(decodeMessage((await forwarder.resolve(request("r4.example.test"), "A")).message).rcode).toBe(
      "SERVFAIL",
    );
    // Cached names still answer, and another client has its own budget.
    expect((await forwarder.resolve(request("r0.example.test"), "A")).source).toBe("cache");
    expect((await forwarder.resolve(request("r9.example.test"), "B")).source).toBe("upstream");
    now = 1000;
    expect((await forwarder.resolve(request("r5.example.test"), "A")).source).toBe("upstream");
  });
});
