import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import type { EchoProbe, EchoReply } from "./echo-reply.ts";
import { bareAddress, EchoReplyError, parseEchoProbe, parseEchoReply } from "./echo-reply.ts";

const reply: EchoReply = {
  pod: "node1-a",
  ip: "10.244.1.2",
  from: "10.244.2.3",
  fromPort: 41000,
  pid: 1234,
  netns: "net:[4026532001]",
  proto: "udp",
};

const probe: EchoProbe = {
  reply,
  clientNetns: "net:[4026532002]",
  clientPid: 99,
  replyFrom: "10.96.0.10",
  localIp: "10.244.2.3",
  localPort: 41000,
};

function without(object: object, name: string): string {
  return JSON.stringify(Object.fromEntries(Object.entries(object).filter(([key]) => key !== name)));
}

describe("parseEchoReply", () => {
  test("accepts what the server sends, TCP and UDP", () => {
    expect(parseEchoReply(JSON.stringify(reply))).toEqual(reply);
    expect(parseEchoReply(JSON.stringify({ ...reply, proto: "tcp" })).proto).toBe("tcp");
  });

  test("round-trips random replies of both families and protocols", () => {
    const rand = mulberry32(20240611);
    const int = (n: number) => Math.floor(rand() * n);
    const v4 = () => [int(256), int(256), int(256), int(256)].join(".");
    const v6 = () => `fd00::${int(0x10000).toString(16)}:${int(0x10000).toString(16)}`;
    for (let i = 0; i < 500; i++) {
      const six = rand() < 0.5;
      const r: EchoReply = {
        pod: `pod-${int(1000)}`,
        ip: six ? v6() : v4(),
        from: six ? v6() : v4(),
        fromPort: int(65536),
        pid: 1 + int(4_000_000),
        netns: `net:[${4026531840 + int(100000)}]`,
        proto: rand() < 0.5 ? "tcp" : "udp",
      };
      expect(parseEchoReply(JSON.stringify(r))).toEqual(r);
      const p: EchoProbe = { ...probe, reply: r, localPort: int(65536), replyFrom: r.ip };
      expect(parseEchoProbe(JSON.stringify(p))).toEqual(p);
    }
  });

  test("names each missing field", () => {
    for (const name of Object.keys(reply)) {
      expect(() => parseEchoReply(without(reply, name))).toThrow(`field "${name}" is missing`);
    }
  });

  test("rejects wrong types and out-of-range numbers, naming the field", () => {
    const cases: [Partial<Record<keyof EchoReply, unknown>>, string][] = [
      [{ pod: 7 }, 'field "pod" must be a string, got 7'],
      [{ ip: null }, 'field "ip" must be a string, got null'],
      [{ fromPort: 65536 }, 'field "fromPort" must be an integer from 0 to 65535, got 65536'],
      [{ fromPort: "80" }, 'field "fromPort" must be an integer from 0 to 65535, got "80"'],
      [{ fromPort: 1.5 }, 'field "fromPort"'],
      [{ pid: 0 }, 'field "pid" must be an integer from 1'],
      [{ proto: "sctp" }, 'field "proto" must be "tcp" or "udp", got "sctp"'],
    ];
    for (const [over, message] of cases) {
      expect(() => parseEchoReply(JSON.stringify({ ...reply, ...over }))).toThrow(message);
    }
  });

  test("rejects text that is not one JSON object", () => {
    expect(() => parseEchoReply("HTTP/1.1 400 Bad Request")).toThrow(EchoReplyError);
    expect(() => parseEchoReply("HTTP/1.1 400 Bad Request")).toThrow("not JSON");
    expect(() => parseEchoReply("[1,2]")).toThrow("not a JSON object");
    expect(() => parseEchoReply("null")).toThrow("not a JSON object");
    expect(() => parseEchoReply("")).toThrow("not JSON");
  });
});

describe("parseEchoProbe", () => {
  test("accepts what the client prints", () => {
    expect(parseEchoProbe(JSON.stringify(probe))).toEqual(probe);
  });

  test("names the missing or malformed field, inside the reply too", () => {
    for (const name of ["clientNetns", "clientPid", "replyFrom", "localIp", "localPort", "reply"]) {
      expect(() => parseEchoProbe(without(probe, name))).toThrow(`field "${name}" is missing`);
    }
    expect(() => parseEchoProbe(JSON.stringify({ ...probe, reply: "x" }))).toThrow(
      'field "reply" must be an object, got "x"',
    );
    expect(() => parseEchoProbe(JSON.stringify({ ...probe, reply: { ...reply, proto: undefined } }))).toThrow(
      'Invalid echo reply in probe: field "proto" is missing',
    );
    expect(() => parseEchoProbe(JSON.stringify({ ...probe, localPort: -1 }))).toThrow('field "localPort"');
  });
});

describe("bareAddress", () => {
  test("strips the IPv4-mapped prefix of dual-stack sockets and nothing else", () => {
    expect(bareAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(bareAddress("10.0.0.1")).toBe("10.0.0.1");
    expect(bareAddress("::ffff:a00:1")).toBe("::ffff:a00:1");
    expect(bareAddress("fd00::ffff:1")).toBe("fd00::ffff:1");
    expect(bareAddress(undefined)).toBe("");
  });
});
