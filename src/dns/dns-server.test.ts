import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Packet, RecordType } from "dns-packet";
import * as dnsPacket from "dns-packet";
import { httpService as svc } from "../../test/support/dns-fixtures.ts";
import { pollUntil } from "../base/poll-until.ts";
import { Metrics } from "../daemon/metrics.ts";
import { ClusterZone } from "./cluster-zone.ts";
import { type DecodedMessage, decodeMessage } from "./dns-message.ts";
import { type DnsServer, startDnsServer } from "./dns-server.ts";
import { frame, TcpFramer } from "./tcp-framer.ts";

const HOST = "127.0.0.1";
let nextId = 1;

function query(name: string, type: RecordType, extra: Packet = {}): { id: number; message: Buffer } {
  const id = nextId++;
  const message = dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type }],
    ...extra,
  });
  return { id, message };
}

/** A UDP client on 127.0.0.1: sends queries, keeps every reply by ID. */
async function udpClient(port: number) {
  const replies = new Map<number, DecodedMessage>();
  const socket = await Bun.udpSocket({
    hostname: HOST,
    port: 0,
    socket: {
      data: (_s, data) => {
        const r = decodeMessage(Buffer.from(data));
        replies.set(r.id ?? -1, r);
      },
    },
  });
  return {
    replies,
    port: socket.port,
    send: (message: Buffer) => socket.send(message, port, HOST),
    ask: async (q: { id: number; message: Buffer }) => {
      socket.send(q.message, port, HOST);
      return (await pollUntil(`a reply to query ${q.id}`, () => replies.get(q.id), 3000, { intervalMs: 5 }))
        .value;
    },
    close: () => socket.close(),
  };
}

/** A TCP connection to the server: writes raw bytes, collects framed replies, sees the close. */
async function tcpClient(port: number) {
  const framer = new TcpFramer(65535);
  const replies: DecodedMessage[] = [];
  let closed = false;
  const socket = await Bun.connect({
    hostname: HOST,
    port,
    socket: {
      data: (_s, chunk) => {
        for (const m of framer.push(chunk).messages) replies.push(decodeMessage(m));
      },
      close: () => {
        closed = true;
      },
    },
  });
  return { replies, write: (b: Buffer) => socket.write(b), isClosed: () => closed, end: () => socket.end() };
}

let server: DnsServer;
const zone = new ClusterZone({ reverseCidrs: ["10.96.0.0/12", "10.244.0.0/16"] });
const clients = new Map<string, string>();
const metrics = new Metrics({ processMetrics: false });

beforeAll(async () => {
  zone.setService(svc("echo", ["10.96.0.10"]), [{ ip: "10.244.1.5", node: "n1", pod: "default/echo-1" }]);
  zone.setService(
    svc("big", []),
    Array.from({ length: 40 }, (_, i) => ({ ip: `10.244.3.${i + 1}`, node: "n1", pod: `default/big-${i}` })),
  );
  server = await startDnsServer({
    address: HOST,
    port: 0,
    zone,
    upstreams: [],
    metrics,
    // Frozen: no tokens come back during the test, so the flood's count is exact.
    clock: () => 0,
    rateLimit: { perSecond: 10, burst: 50, maxClients: 100 },
    // The test's clients all use 127.0.0.1; each registers its port under a name.
    clientKey: (address, port) => clients.get(String(port)) ?? `${address}:${port}`,
  });
});
afterAll(() => server.stop());

describe("the DNS server over UDP", () => {
  test("answers A, SRV and PTR from the zone", async () => {
    const c = await udpClient(server.port);
    const a = await c.ask(query("echo.default.svc.cluster.local", "A"));
    expect([a.rcode, a.flag_aa, a.answers?.map((r) => ("data" in r ? r.data : ""))]).toEqual([
      "NOERROR",
      true,
      ["10.96.0.10"],
    ]);
    const srv = await c.ask(query("_http._tcp.echo.default.svc.cluster.local", "SRV"));
    expect(srv.answers?.map((r) => r.type)).toEqual(["SRV"]);
    const ptr = await c.ask(query("10.0.96.10.in-addr.arpa", "PTR"));
    expect(ptr.answers?.map((r) => ("data" in r ? r.data : ""))).toEqual(["echo.default.svc.cluster.local"]);
    const outside = await c.ask(query("www.example.test", "A"));
    expect(outside.rcode).toBe("REFUSED");
    c.close();
  });

  test("a large answer is truncated over UDP and whole over TCP", async () => {
    const c = await udpClient(server.port);
    const udp = await c.ask(query("big.default.svc.cluster.local", "A"));
    expect([udp.flag_tc, udp.answers?.length]).toEqual([true, 0]);
    c.close();
    const t = await tcpClient(server.port);
    t.write(frame(query("big.default.svc.cluster.local", "A").message));
    const { value } = await pollUntil("the TCP reply", () => t.replies[0], 3000, { intervalMs: 5 });
    expect([value.flag_tc, value.answers?.length]).toEqual([false, 40]);
    t.end();
  });

  test("garbage gets FORMERR; a datagram shorter than a header is dropped and counted", async () => {
    const c = await udpClient(server.port);
    const dropped = server.stats.dropped.malformed;
    c.send(Buffer.from([1, 2, 3]));
    await pollUntil(
      "the short datagram counted",
      () => server.stats.dropped.malformed === dropped + 1,
      3000,
      { intervalMs: 5 },
    );
    const garbage = Buffer.from([0x55, 0x66, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    const r = await c.ask({ id: 0x5566, message: garbage });
    expect(r.rcode).toBe("FORMERR");
    c.close();
  });

  test("a flood from one client is limited while another client is still answered", async () => {
    const flood = await udpClient(server.port);
    const calm = await udpClient(server.port);
    clients.set(String(flood.port), "flood");
    clients.set(String(calm.port), "calm");
    const dropsBefore = server.stats.dropped["rate-limit"];
    // In rounds the kernel's socket buffers hold, so every datagram reaches the server.
    const rounds = 20;
    const perRound = 25;
    for (let round = 0; round < rounds; round++) {
      const before = server.stats.queries;
      for (let i = 0; i < perRound; i++) flood.send(query("echo.default.svc.cluster.local", "A").message);
      await pollUntil(
        "a round of the flood received",
        () => server.stats.queries >= before + perRound,
        3000,
        {
          intervalMs: 1,
        },
      );
    }
    // Burst 50 and a frozen clock: exactly 50 answered, the rest dropped.
    expect(server.stats.dropped["rate-limit"] - dropsBefore).toBe(rounds * perRound - 50);
    await pollUntil("the flood's 50 replies", () => flood.replies.size === 50, 3000, { intervalMs: 5 });
    const answer = await calm.ask(query("echo.default.svc.cluster.local", "A"));
    expect(answer.answers?.length).toBe(1);
    flood.close();
    calm.close();
  });

  test("the counters are exported as Prometheus series", async () => {
    const text = await metrics.render();
    expect(text).toMatch(/podnet_dns_queries_total\{transport="udp"\} [1-9]/);
    expect(text).toMatch(/podnet_dns_dropped_total\{reason="rate-limit"\} [1-9]/);
  });
});

describe("the DNS server over TCP", () => {
  test("two queries on one connection, each answered", async () => {
    const t = await tcpClient(server.port);
    const one = query("echo.default.svc.cluster.local", "A");
    const two = query("nope.default.svc.cluster.local", "A");
    t.write(Buffer.concat([frame(one.message), frame(two.message)]));
    await pollUntil("two replies", () => t.replies.length === 2, 3000, { intervalMs: 5 });
    const byId = new Map(t.replies.map((r) => [r.id, r.rcode]));
    expect([byId.get(one.id), byId.get(two.id)]).toEqual(["NOERROR", "NXDOMAIN"]);
    t.end();
  });

  test("a 64 KiB frame closes that connection without hurting other clients", async () => {
    const hostile = await tcpClient(server.port);
    const other = await tcpClient(server.port);
    hostile.write(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(4096, 0x41)]));
    await pollUntil("the hostile connection closed", () => hostile.isClosed(), 3000, { intervalMs: 5 });
    expect(server.stats.dropped["tcp-frame"]).toBe(1);
    other.write(frame(query("echo.default.svc.cluster.local", "A").message));
    const { value } = await pollUntil("the other client's reply", () => other.replies[0], 3000, {
      intervalMs: 5,
    });
    expect(value.rcode).toBe("NOERROR");
    other.end();
  });

  test("connections over the limit are closed at once; an idle one is closed after its timeout", async () => {
    const small = await startDnsServer({
      address: HOST,
      port: 0,
      zone,
      upstreams: [],
      tcp: { maxConnections: 1, idleSeconds: 1 },
    });
    try {
      const first = await tcpClient(small.port);
      const second = await tcpClient(small.port);
      await pollUntil("the second connection closed", () => second.isClosed(), 3000, { intervalMs: 5 });
      expect(small.stats.dropped["tcp-connections"]).toBe(1);
      first.write(frame(query("echo.default.svc.cluster.local", "A").message));
      await pollUntil("the first connection answered", () => first.replies.length === 1, 3000, {
        intervalMs: 5,
      });
      // Bun checks socket timeouts every few seconds, so "1 s idle" closes within about 4 s.
      await pollUntil("the idle connection closed", () => first.isClosed(), 10_000, { intervalMs: 20 });
      const third = await tcpClient(small.port);
      third.write(frame(query("echo.default.svc.cluster.local", "A").message));
      await pollUntil("a new connection answered", () => third.replies.length === 1, 3000, { intervalMs: 5 });
      third.end();
    } finally {
      small.stop();
    }
  }, 20_000);

  test("one client holding its share of connections does not keep another client out", async () => {
    // Connections are told apart by the order they arrive in: three from "a", then "b".
    let opened = 0;
    const small = await startDnsServer({
      address: HOST,
      port: 0,
      zone,
      upstreams: [],
      tcp: { maxConnections: 4, maxConnectionsPerClient: 2 },
      clientKey: () => (opened++ < 3 ? "a" : "b"),
    });
    try {
      const a = [await tcpClient(small.port), await tcpClient(small.port), await tcpClient(small.port)];
      await pollUntil("a's third connection closed", () => a[2]?.isClosed() === true, 3000, {
        intervalMs: 5,
      });
      expect(small.stats.dropped["tcp-client-connections"]).toBe(1);
      const b = await tcpClient(small.port);
      b.write(frame(query("echo.default.svc.cluster.local", "A").message));
      await pollUntil("b's connection answered", () => b.replies.length === 1, 3000, { intervalMs: 5 });
      expect([a[0]?.isClosed(), a[1]?.isClosed(), b.isClosed()]).toEqual([false, false, false]);
      for (const c of [...a, b]) c.end();
    } finally {
      small.stop();
    }
  });
});
