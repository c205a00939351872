import { describe, expect, test } from "bun:test";
import type { Packet, RecordType } from "dns-packet";
import * as dnsPacket from "dns-packet";
import { httpService as svc } from "../../test/support/dns-fixtures.ts";
import type { Endpoint } from "../k8s/service-model.ts";
import { answerQuery, type QueryOutcome } from "./answer-query.ts";
import { ClusterZone } from "./cluster-zone.ts";
import { type DecodedMessage, decodeMessage } from "./dns-message.ts";

const ep = (pod: string, ip: string): Endpoint => ({ ip, node: "node1", pod: `default/${pod}` });

const zone = new ClusterZone({ reverseCidrs: ["10.96.0.0/12", "10.244.0.0/16", "fd00:10:96::/112"] });
zone.setService(svc("echo", ["10.96.0.10", "fd00:10:96::a"]), [ep("echo-1", "10.244.1.5")]);
zone.setService(svc("web", ["10.96.0.11"]), []);
zone.setService(
  svc("mid", []),
  Array.from({ length: 20 }, (_, i) => ep(`mid-${i}`, `10.244.4.${i + 1}`)),
);
zone.setService(
  svc("big", []),
  Array.from({ length: 40 }, (_, i) => ep(`big-${i}`, `10.244.3.${i + 1}`)),
);

function query(name: string, type: RecordType, extra: Packet = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
    ...extra,
  });
}

const edns = (udpPayloadSize: number, ednsVersion = 0): Packet => ({
  additionals: [
    {
      type: "OPT",
      name: ".",
      udpPayloadSize,
      extendedRcode: 0,
      ednsVersion,
      flags: 0,
      flag_do: false,
      options: [],
    },
  ],
});

function reply(outcome: QueryOutcome): DecodedMessage & { size: number } {
  if (outcome.kind !== "reply") throw new Error(`expected a reply, got ${JSON.stringify(outcome)}`);
  return { ...decodeMessage(outcome.message), size: outcome.message.length };
}

const ask = (message: Buffer, transport: "udp" | "tcp" = "udp", recursion = true) =>
  answerQuery(message, zone, { transport, recursion });
const data = (p: DecodedMessage) => (p.answers ?? []).map((a) => ("data" in a ? a.data : undefined));

describe("answers from the cluster zone", () => {
  test("A with AA, the question's case echoed (0x20) and the zone's TTL", () => {
    const r = reply(ask(query("EcHo.DeFaulT.svc.CLUSTER.local", "A")));
    expect(r.id).toBe(4242);
    expect(r.rcode).toBe("NOERROR");
    expect([r.flag_qr, r.flag_aa, r.flag_rd, r.flag_ra, r.flag_tc]).toEqual([true, true, true, true, false]);
    expect(r.questions?.[0]?.name).toBe("EcHo.DeFaulT.svc.CLUSTER.local");
    expect(r.answers?.map((a) => [a.name, a.type, "ttl" in a ? a.ttl : 0])).toEqual([
      ["EcHo.DeFaulT.svc.CLUSTER.local", "A", 5],
    ]);
    expect(data(r)).toEqual(["10.96.0.10"]);
  });

  test("NXDOMAIN for an unknown name, with the SOA in authority", () => {
    const r = reply(ask(query("nope.default.svc.cluster.local", "A")));
    expect(r.rcode).toBe("NXDOMAIN");
    expect(r.flag_aa).toBe(true);
    expect(r.answers).toEqual([]);
    expect(r.authorities?.map((a) => [a.name, a.type, "ttl" in a ? a.ttl : 0])).toEqual([
      ["cluster.local", "SOA", 5],
    ]);
  });

  test("NODATA (NOERROR, no answer, SOA) for another type and for empty non-terminals", () => {
    for (const [name, type] of [
      ["web.default.svc.cluster.local", "AAAA"],
      ["svc.cluster.local", "A"],
      ["default.svc.cluster.local", "A"],
      ["_tcp.echo.default.svc.cluster.local", "SRV"],
      ["echo.default.svc.cluster.local", "MX"],
    ] as const) {
      const r = reply(ask(query(name, type)));
      expect({
        name,
        type,
        rcode: r.rcode,
        answers: r.answers?.length,
        soa: r.authorities?.[0]?.type,
      }).toEqual({
        name,
        type,
        rcode: "NOERROR",
        answers: 0,
        soa: "SOA",
      });
    }
  });

  test("SRV for a named port with the target's addresses as additional data", () => {
    const r = reply(ask(query("_http._tcp.echo.default.svc.cluster.local", "SRV")));
    expect(data(r)).toEqual([
      { priority: 0, weight: 100, port: 80, target: "echo.default.svc.cluster.local" },
    ]);
    expect(r.additionals?.map((a) => `${a.name} ${a.type}`)).toEqual([
      "echo.default.svc.cluster.local A",
      "echo.default.svc.cluster.local AAAA",
    ]);
  });

  test("PTR for a ClusterIP of both families and for a pod address", () => {
    expect(data(reply(ask(query("10.0.96.10.in-addr.arpa", "PTR"))))).toEqual([
      "echo.default.svc.cluster.local",
    ]);
    const v6 = "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa";
    expect(data(reply(ask(query(v6, "PTR"))))).toEqual(["echo.default.svc.cluster.local"]);
    expect(data(reply(ask(query("5.1.244.10.in-addr.arpa", "PTR"))))).toEqual([
      "10-244-1-5.default.pod.cluster.local",
    ]);
    const unknown = reply(ask(query("9.9.244.10.in-addr.arpa", "PTR")));
    expect([unknown.rcode, unknown.flag_aa, unknown.authorities?.[0]?.name]).toEqual([
      "NXDOMAIN",
      true,
      "244.10.in-addr.arpa",
    ]);
  });

  test("names inside the reverse zones that are not addresses are NXDOMAIN here, never forwarded", () => {
    for (const name of [
      "x.5.1.244.10.in-addr.arpa",
      "7.5.1.244.10.in-addr.arpa",
      "05.1.244.10.in-addr.arpa",
      "abc.244.10.in-addr.arpa",
      "300.1.244.10.in-addr.arpa",
      "x.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa",
      "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa",
    ]) {
      const out = reply(ask(query(name, "PTR")));
      expect({ name, rcode: out.rcode, aa: out.flag_aa }).toEqual({ name, rcode: "NXDOMAIN", aa: true });
    }
    // Outside the CIDRs they are still forwarded, whatever their labels.
    expect(ask(query("x.5.0.0.11.in-addr.arpa", "PTR")).kind).toBe("forward");
    expect(ask(query("x.10.in-addr.arpa", "PTR")).kind).toBe("forward");
  });

  test("the search expansions of outside names are NXDOMAIN here, never forwarded", () => {
    expect(reply(ask(query("www.example.test.default.svc.cluster.local", "A"))).rcode).toBe("NXDOMAIN");
    expect(reply(ask(query("www.example.test.cluster.local", "AAAA"))).rcode).toBe("NXDOMAIN");
  });

  test("outside names are forwarded, or REFUSED without upstreams", () => {
    const out = ask(query("www.Example.test", "A", edns(4096)));
    expect(out.kind === "forward" && out.request).toEqual({
      id: 4242,
      question: { name: "www.Example.test", type: "A", class: "IN" },
      recursionDesired: true,
      edns: { udpPayloadSize: 4096, version: 0, dnssecOk: false },
      limit: 1232,
    });
    expect(ask(query("10.in-addr.arpa", "PTR")).kind).toBe("forward");
    const refused = reply(ask(query("www.example.test", "A"), "udp", false));
    expect([refused.rcode, refused.flag_ra]).toEqual(["REFUSED", false]);
  });
});

describe("sizes, truncation and EDNS0", () => {
  const big = "big.default.svc.cluster.local";

  test("without EDNS a reply over 512 bytes is TC with an empty answer; TCP gets it whole", () => {
    const udp = reply(ask(query(big, "A")));
    expect([udp.flag_tc, udp.answers?.length, udp.size <= 512]).toEqual([true, 0, true]);
    const tcp = reply(ask(query(big, "A"), "tcp"));
    expect([tcp.flag_tc, tcp.answers?.length]).toEqual([false, 40]);
  });

  test("with EDNS the limit is min(client's size, 1232), and the OPT is echoed", () => {
    const mid = "mid.default.svc.cluster.local";
    expect(reply(ask(query(mid, "A"))).flag_tc).toBe(true);
    const fits = reply(ask(query(mid, "A", edns(4096))));
    expect([fits.flag_tc, fits.answers?.length, fits.size <= 1232]).toEqual([false, 20, true]);
    expect(fits.size).toBeGreaterThan(512);
    expect(fits.additionals?.map((a) => a.type)).toEqual(["OPT"]);
    const over = reply(ask(query(big, "A", edns(4096))));
    expect([over.flag_tc, over.answers?.length, over.size <= 1232]).toEqual([true, 0, true]);
    const small = reply(ask(query(mid, "A", edns(600))));
    expect([small.flag_tc, small.answers?.length]).toEqual([true, 0]);
    const tiny = reply(ask(query("echo.default.svc.cluster.local", "A", edns(100))));
    expect([tiny.flag_tc, tiny.answers?.length]).toEqual([false, 1]);
  });

  test("an unknown EDNS version gets BADVERS", () => {
    const r = reply(ask(query("echo.default.svc.cluster.local", "A", edns(1232, 1))));
    const opt = r.additionals?.find((a) => a.type === "OPT");
    expect([r.answers?.length, opt !== undefined && "extendedRcode" in opt ? opt.extendedRcode : -1]).toEqual(
      [0, 1],
    );
  });
});

describe("malformed and hostile queries", () => {
  test("fewer than 12 bytes and responses are dropped", () => {
    expect(ask(Buffer.from([1, 2, 3])).kind).toBe("drop");
    const response = dnsPacket.encode({ type: "response", id: 1, questions: [{ name: "a", type: "A" }] });
    expect(ask(response).kind).toBe("drop");
  });

  test("a readable header with garbage after it gets FORMERR with its ID", () => {
    const garbage = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      Buffer.from([70, 1, 2]),
    ]);
    const r = reply(ask(garbage));
    expect([r.id, r.rcode, r.questions?.length]).toEqual([0x1234, "FORMERR", 0]);
  });

  test("a compression loop is rejected with FORMERR", () => {
    // Header with one question whose name is a pointer to itself (offset 12).
    const loop = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(reply(ask(loop)).rcode).toBe("FORMERR");
    const twoStep = Buffer.from([
      0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0xc0, 12, 0, 1, 0, 1,
    ]);
    expect(reply(ask(twoStep)).rcode).toBe("FORMERR");
  });

  test("qdcount other than one is FORMERR, an opcode other than QUERY is NOTIMP", () => {
    const two = dnsPacket.encode({
      type: "query",
      id: 7,
      questions: [
        { name: "a.cluster.local", type: "A" },
        { name: "b.cluster.local", type: "A" },
      ],
    });
    expect(reply(ask(two)).rcode).toBe("FORMERR");
    expect(reply(ask(dnsPacket.encode({ type: "query", id: 8, questions: [] }))).rcode).toBe("FORMERR");
    const status = query("echo.default.svc.cluster.local", "A");
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2);
    const r = reply(ask(status));
    expect([r.rcode, r.opcode]).toEqual(["NOTIMP", "STATUS"]);
  });

  test("a name with bytes outside ASCII is REFUSED without being echoed", () => {
    const message = query("xxxx.cluster.local", "A");
    message[13] = 0xe9;
    const r = reply(ask(message));
    expect([r.rcode, r.questions?.length]).toEqual(["REFUSED", 0]);
  });

  test("random bytes never throw out of answerQuery (bounded fuzz)", () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const kinds = new Set<string>();
    const valid = query("echo.default.svc.cluster.local", "SRV", edns(1232));
    for (let i = 0; i < 5000; i++) {
      // Half mutate a valid query, half are noise of random length.
      const message = i % 2 === 0 ? Buffer.from(valid) : Buffer.alloc(random() % 80, 0);
      const flips = 1 + (random() % 4);
      for (let f = 0; f < flips && message.length > 0; f++)
        message[random() % message.length] = random() % 256;
      if (i % 2 === 1) for (let b = 0; b < message.length; b++) message[b] = random() % 256;
      const out = ask(message);
      kinds.add(out.kind);
      if (out.kind === "reply") expect(() => decodeMessage(out.message)).not.toThrow();
    }
    expect([...kinds].sort()).toEqual(["drop", "forward", "reply"]);
  });
});
