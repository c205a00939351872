import { describe, expect, test } from "bun:test";
import type { DecodedPacket } from "dns-packet";
import { answerData, lookupOf, parseDnsLookup, parseQueryType } from "./dns-lookup.ts";

describe("lookupOf and parseDnsLookup", () => {
  test("a reply becomes a lookup that survives its JSON round trip", () => {
    const reply = {
      type: "response",
      id: 1,
      flags: 0x8400 | 0, // QR, AA, NOERROR
      flag_aa: true,
      questions: [],
      answers: [
        {
          name: "_tcp._tcp.echo",
          type: "SRV",
          ttl: 5,
          data: { priority: 0, weight: 100, port: 80, target: "echo" },
        },
        { name: "t", type: "TXT", ttl: 5, data: [Buffer.from("podnet "), Buffer.from("lab")] },
        { name: "o", type: "OPT", ttl: 0, data: [] },
      ],
    } as unknown as DecodedPacket;
    const l = lookupOf("169.254.20.10", "_tcp._tcp.echo", "SRV", reply);
    expect(l).toMatchObject({ rcode: "NOERROR", authoritative: true });
    expect(l.answers).toEqual([
      { name: "_tcp._tcp.echo", type: "SRV", data: "0 100 80 echo" },
      { name: "t", type: "TXT", data: "podnet lab" },
    ]);
    expect(parseDnsLookup(JSON.stringify(l))).toEqual(l);
    expect(answerData(l)).toEqual(["0 100 80 echo"]);
    expect(lookupOf("s", "n", "A", { ...reply, flags: 3, flag_aa: false } as DecodedPacket).rcode).toBe(
      "NXDOMAIN",
    );
  });

  test("output that is not a lookup is refused, naming what is missing", () => {
    expect(() => parseDnsLookup("timed out")).toThrow(/printed no JSON/);
    expect(() => parseDnsLookup('{"server":"s","name":"n","type":"A","rcode":"NOERROR"}')).toThrow(
      /authoritative or answers/,
    );
    expect(() =>
      parseDnsLookup(
        '{"server":"s","name":"n","type":"MX","rcode":"NOERROR","authoritative":true,"answers":[]}',
      ),
    ).toThrow(/query type "MX"/);
    expect(() => parseQueryType("srv")).not.toThrow();
  });
});
