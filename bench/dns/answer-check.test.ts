import { describe, expect, test } from "bun:test";
import { compareAnswers, recordText, type ServerAnswer } from "./answer-check.ts";

const a = (query: string, rcode: string, ...records: string[]): ServerAnswer => ({ query, rcode, records });

describe("comparing the two servers' answers", () => {
  test("records are compared as TYPE TTL DATA, names lowercased", () => {
    expect(recordText({ type: "A", name: "x", ttl: 5, data: "10.96.0.1" })).toBe("A 5 10.96.0.1");
    expect(recordText({ type: "PTR", name: "x", ttl: 5, data: "Svc.Bench.svc.cluster.local" })).toBe(
      "PTR 5 svc.bench.svc.cluster.local",
    );
    expect(
      recordText({
        type: "SRV",
        name: "x",
        ttl: 5,
        data: { priority: 0, weight: 100, port: 80, target: "S.b" },
      }),
    ).toBe("SRV 5 0 100 80 s.b");
  });

  test("the same records in another order and the expected rcodes: no difference", () => {
    const expected = new Map([
      ["s A", "NOERROR"],
      ["nx A", "NXDOMAIN"],
    ]);
    const podnet = [a("s A", "NOERROR", "A 5 10.0.0.1", "A 5 10.0.0.2"), a("nx A", "NXDOMAIN")];
    const dnsmasq = [a("s A", "NOERROR", "A 5 10.0.0.2", "A 5 10.0.0.1"), a("nx A", "NXDOMAIN")];
    expect(compareAnswers(podnet, dnsmasq, expected)).toEqual({
      compared: 2,
      differences: [],
      differenceCount: 0,
    });
  });

  test("another TTL, a missing record, a wrong rcode and a timeout are each a difference", () => {
    const expected = new Map([
      ["s A", "NOERROR"],
      ["t A", "NOERROR"],
      ["nx A", "NXDOMAIN"],
      ["u A", "NOERROR"],
    ]);
    const podnet = [
      a("s A", "NOERROR", "A 5 10.0.0.1"),
      a("t A", "NOERROR", "A 5 10.0.0.1", "A 5 10.0.0.2"),
      a("nx A", "NOERROR"),
      a("u A", "NOERROR", "A 5 10.0.0.3"),
    ];
    const dnsmasq = [
      a("s A", "NOERROR", "A 0 10.0.0.1"),
      a("t A", "NOERROR", "A 5 10.0.0.1"),
      a("nx A", "NXDOMAIN"),
      a("u A", "TIMEOUT"),
    ];
    const c = compareAnswers(podnet, dnsmasq, expected);
    expect(c.differenceCount).toBe(4);
    expect(c.differences[2]).toBe("nx A: podnet NOERROR, expected NXDOMAIN");
    expect(c.differences[3]).toContain("dnsmasq TIMEOUT, expected NOERROR");
  });

  test("answers to different queries are not compared as if they were the same", () => {
    const c = compareAnswers([a("s A", "NOERROR")], [a("t A", "NOERROR")], new Map());
    expect(c.differences[0]).toContain("asked different things");
  });
});
