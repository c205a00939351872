import { describe, expect, test } from "bun:test";
import * as dnsPacket from "dns-packet";
import { decodeMessage } from "./dns-message.ts";
import { formatUpstream, parseUpstream, replyMatches, upstreamQuery } from "./upstream.ts";

describe("upstreams", () => {
  test("are written as an address with an optional port", () => {
    expect(parseUpstream("10.0.0.2")).toEqual({ host: "10.0.0.2", family: 4, port: 53 });
    expect(parseUpstream("10.0.0.2:5353")).toEqual({ host: "10.0.0.2", family: 4, port: 5353 });
    expect(parseUpstream("fd00::53")).toEqual({ host: "fd00::53", family: 6, port: 53 });
    expect(formatUpstream(parseUpstream("[fd00:0::53]:5353"))).toBe("[fd00::53]:5353");
    expect(() => parseUpstream("10.0.0.2:70000")).toThrow(
      'Invalid DNS upstream "10.0.0.2:70000": port out of range',
    );
    expect(() => parseUpstream("resolver.example")).toThrow('Invalid DNS upstream "resolver.example"');
  });

  test("a reply is taken only with the query's ID and question (RFC 5452)", () => {
    const question = { name: "Www.Example.test", type: "A" as const, class: "IN" as const };
    const sent = decodeMessage(upstreamQuery(question, 777, false));
    expect([sent.id, sent.flag_rd, sent.additionals?.[0]?.type]).toEqual([777, true, "OPT"]);
    const reply = (id: number, name: string, type: "A" | "AAAA" = "A") =>
      decodeMessage(dnsPacket.encode({ type: "response", id, questions: [{ name, type, class: "IN" }] }));
    expect(replyMatches(reply(777, "www.example.test"), 777, question)).toBe(true);
    expect(replyMatches(reply(778, "www.example.test"), 777, question)).toBe(false);
    expect(replyMatches(reply(777, "evil.example.test"), 777, question)).toBe(false);
    expect(replyMatches(reply(777, "www.example.test", "AAAA"), 777, question)).toBe(false);
  });
});
