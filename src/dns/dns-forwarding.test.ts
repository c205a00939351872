import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Answer, RecordType } from "dns-packet";
import * as dnsPacket from "dns-packet";
import { pollUntil } from "../base/poll-until.ts";
import { ClusterZone } from "./cluster-zone.ts";
import { type DecodedMessage, decodeMessage } from "./dns-message.ts";
import { type DnsServer, startDnsServer } from "./dns-server.ts";
import { frame, TcpFramer } from "./tcp-framer.ts";

const HOST = "127.0.0.1";

/** A resolver upstream of the server, on 127.0.0.1: UDP and TCP on one port, counting what it is asked. */
async function fakeUpstream() {
  const asked = { udp: 0, tcp: 0 };
  const records = (name: string, over: "udp" | "tcp"): { answers: Answer[]; tc: boolean } => {
    const a = (ip: string): Answer => ({ type: "A", name, ttl: 300, class: "IN", data: ip });
    if (name.toLowerCase() === "big.example.test")
      return over === "udp"
        ? { answers: [], tc: true }
        : { answers: [a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3")], tc: false };
    return { answers: [a("192.0.2.10")], tc: false };
  };
  const respond = (message: Buffer, over: "udp" | "tcp"): Buffer => {
    asked[over]++;
    const q = decodeMessage(message);
    const question = q.questions?.[0] ?? { name: "", type: "A" as const };
    const { answers, tc } = records(question.name, over);
    const flags =
      dnsPacket.AUTHORITATIVE_ANSWER |
      dnsPacket.RECURSION_AVAILABLE |
      (tc ? dnsPacket.TRUNCATED_RESPONSE : 0);
    return dnsPacket.encode({ type: "response", id: q.id, flags, questions: [question], answers });
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const udp = await Bun.udpSocket({
      hostname: HOST,
      port: 0,
      socket: {
        data: (s, data, port, address) => {
          s.send(respond(Buffer.from(data), "udp"), port, address);
        },
      },
    });
    try {
      const tcp = Bun.listen<{ framer: TcpFramer }>({
        hostname: HOST,
        port: udp.port,
        socket: {
          open: (s) => {
            s.data = { framer: new TcpFramer(65535) };
          },
          data: (s, chunk) => {
            for (const m of s.data.framer.push(chunk).messages) s.write(frame(respond(m, "tcp")));
          },
        },
      });
      const stop = () => {
        udp.close();
        tcp.stop(true);
      };
      return { port: udp.port, asked, stop };
    } catch {
      // The kernel's UDP port is taken for TCP: another pair.
      udp.close();
    }
  }
  throw new Error("no free port pair on 127.0.0.1 for the fake upstream");
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: HOST, port: 0 });
  const port = s.port;
  s.close();
  return port;
}

async function ask(port: number, name: string, type: RecordType): Promise<DecodedMessage> {
  const id = Math.floor(Math.random() * 65535);
  let reply: DecodedMessage | undefined;
  const socket = await Bun.udpSocket({
    hostname: HOST,
    port: 0,
    socket: {
      data: (_s, data) => {
        reply = decodeMessage(Buffer.from(data));
      },
    },
  });
  socket.send(
    dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }),
    port,
    HOST,
  );
  const { value } = await pollUntil(`a reply for ${name}`, () => reply, 4000, { intervalMs: 5 });
  socket.close();
  expect(value.id).toBe(id);
  return value;
}

const ips = (r: DecodedMessage) => r.answers?.map((a) => ("data" in a ? a.data : ""));
const ttls = (r: DecodedMessage) => r.answers?.map((a) => ("ttl" in a ? a.ttl : -1));

let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
let server: DnsServer;
let now = 1_000_000;

beforeAll(async () => {
  upstream = await fakeUpstream();
  server = await startDnsServer({
    address: HOST,
    port: 0,
    zone: new ClusterZone(),
    upstreams: [`${HOST}:${await closedPort()}`, `${HOST}:${upstream.port}`],
    upstreamTimeoutMs: 1000,
    clock: () => now,
  });
});
afterAll(() => {
  server.stop();
  upstream.stop();
});

describe("forwarding outside names", () => {
  test("an outside name is answered from upstream without AA, with RA, past a dead first upstream", async () => {
    const r = await ask(server.port, "WWW.example.test", "A");
    expect([r.rcode, r.flag_aa, r.flag_ra, ips(r), ttls(r)]).toEqual([
      "NOERROR",
      false,
      true,
      ["192.0.2.10"],
      [300],
    ]);
    expect(r.answers?.[0]?.name).toBe("WWW.example.test");
    expect(upstream.asked.udp).toBe(1);
  });

  test("the second query comes from the cache with a lower TTL", async () => {
    now += 100_000;
    const r = await ask(server.port, "www.example.test", "A");
    expect([ips(r), ttls(r), upstream.asked.udp]).toEqual([["192.0.2.10"], [200], 1]);
  });

  test("a truncated upstream reply is asked again over TCP", async () => {
    const r = await ask(server.port, "big.example.test", "A");
    expect([r.flag_tc, ips(r)]).toEqual([false, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]]);
    expect(upstream.asked.tcp).toBe(1);
  });

  test("names of the cluster domain are never forwarded", async () => {
    const before = { ...upstream.asked };
    const r = await ask(server.port, "www.example.test.default.svc.cluster.local", "A");
    expect([r.rcode, r.flag_aa]).toEqual(["NXDOMAIN", true]);
    expect(upstream.asked).toEqual(before);
  });

  test("when every upstream is down the client gets SERVFAIL", async () => {
    const lonely = await startDnsServer({
      address: HOST,
      port: 0,
      zone: new ClusterZone(),
      upstreams: [`${HOST}:${await closedPort()}`],
      upstreamTimeoutMs: 500,
    });
    try {
      const r = await ask(lonely.port, "www.example.test", "A");
      expect([r.rcode, r.flag_ra, r.answers?.length]).toEqual(["SERVFAIL", true, 0]);
      expect(lonely.stats.bySource.failed).toBe(1);
    } finally {
      lonely.stop();
    }
  });
});
