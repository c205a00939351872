import { afterEach, describe, expect, test } from "bun:test";
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { firstLine, parseEchoFields, pingOutcome, runProbe } from "./trace-probe.ts";

const echo = { pod: "node2-a", ip: "10.244.2.2", from: "10.244.1.2", fromPort: 41000, pid: 1, proto: "tcp" };

describe("reading answers", () => {
  test("podnet's echo reply gives its fields, anything else none", () => {
    expect(parseEchoFields(JSON.stringify(echo))).toEqual({
      pod: "node2-a",
      ip: "10.244.2.2",
      from: "10.244.1.2",
      fromPort: 41000,
    });
    expect(parseEchoFields(JSON.stringify({ ...echo, from: "::ffff:10.244.1.2" }))?.from).toBe("10.244.1.2");
    expect(parseEchoFields("HTTP/1.1 200 OK")).toBeUndefined();
    expect(parseEchoFields(JSON.stringify({ ...echo, ip: "not-an-ip" }))).toBeUndefined();
    expect(parseEchoFields(JSON.stringify({ ...echo, fromPort: "1" }))).toBeUndefined();
  });

  test("the first line is cut at the newline and at 512 bytes", () => {
    expect(firstLine(Buffer.from("hello\r\nworld\n"))).toBe("hello");
    expect(firstLine(Buffer.from("x".repeat(2000)))).toHaveLength(512);
  });

  test("ping output", () => {
    const ok =
      "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=63 time=0.1 ms\n";
    expect(pingOutcome(0, ok, 3)).toEqual({ outcome: "answered", ms: 3, replyFrom: "10.0.0.2" });
    const v6 = "64 bytes from 2001:db8::2: icmp_seq=1 ttl=64 time=0.05 ms\n";
    expect(pingOutcome(0, v6, 1).replyFrom).toBe("2001:db8::2");
    const unreach = "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n";
    expect(pingOutcome(1, unreach, 3)).toEqual({
      outcome: "unreachable",
      ms: 3,
      replyFrom: "10.0.0.1",
      error: "Destination Host Unreachable",
    });
    expect(pingOutcome(1, "From 10.0.0.1 icmp_seq=1 Destination Port Unreachable\n", 1).outcome).toBe(
      "refused",
    );
    expect(
      pingOutcome(1, "PING 10.0.0.9 ...\n\n--- statistics ---\n1 packets transmitted, 0 received\n", 1000),
    ).toEqual({
      outcome: "timeout",
      ms: 1000,
    });
    expect(pingOutcome(2, "ping: connect: Network is unreachable\n", 0).outcome).toBe("unreachable");
    expect(pingOutcome(2, "ping: socket: Operation not permitted\n", 0).outcome).toBe("error");
  });
});

describe("probing on loopback", () => {
  let server: Server | undefined;
  let udp: Socket | undefined;
  afterEach(() => {
    server?.close();
    udp?.close();
    server = udp = undefined;
  });

  const listen = (handler: (s: import("node:net").Socket) => void): Promise<number> =>
    new Promise((resolve) => {
      const s = createServer(handler);
      server = s;
      s.listen(0, "127.0.0.1", () => resolve((s.address() as { port: number }).port));
    });

  test("tcp: answered, with the source port asked for and the echo fields", async () => {
    const port = await listen((s) =>
      s.end(
        `${JSON.stringify({ ...echo, ip: "127.0.0.1", from: s.remoteAddress, fromPort: s.remotePort })}\n`,
      ),
    );
    const sport = 40000 + Math.floor(Math.random() * 20000);
    const r = await runProbe({ to: "127.0.0.1", port, proto: "tcp", sport, timeoutMs: 2000 });
    expect(r.outcome).toBe("answered");
    expect(r.localPort).toBe(sport);
    expect(r.replyFrom).toBe("127.0.0.1");
    expect(r.echo).toEqual({ pod: "node2-a", ip: "127.0.0.1", from: "127.0.0.1", fromPort: sport });
  });

  test("tcp: a connection to a closed port is refused", async () => {
    const port = await listen(() => {});
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const r = await runProbe({ to: "127.0.0.1", port, proto: "tcp", timeoutMs: 2000 });
    expect(r.outcome).toBe("refused");
    expect(r.error).toContain("ECONNREFUSED");
  });

  test("tcp: a server that accepts and stays silent is answered without an answer", async () => {
    const port = await listen(() => {});
    const r = await runProbe({ to: "127.0.0.1", port, proto: "tcp", timeoutMs: 300 });
    expect(r.outcome).toBe("answered");
    expect(r.answer).toBeUndefined();
  });

  test("udp: answered by a datagram; nothing listening is a timeout", async () => {
    const socket = createSocket("udp4");
    udp = socket;
    socket.on("message", (_m, rinfo) => socket.send("pong\n", rinfo.port, rinfo.address));
    const port = await new Promise<number>((resolve) =>
      socket.bind(0, "127.0.0.1", () => resolve(socket.address().port)),
    );
    const r = await runProbe({ to: "127.0.0.1", port, proto: "udp", sport: 45123, timeoutMs: 2000 });
    expect(r).toMatchObject({
      outcome: "answered",
      replyFrom: "127.0.0.1",
      localPort: 45123,
      answer: "pong",
    });
    socket.close();
    udp = undefined;
    const silent = await runProbe({ to: "127.0.0.1", port, proto: "udp", timeoutMs: 300 });
    expect(silent.outcome).toBe("timeout");
  });

  test("icmp: loopback answers", async () => {
    const r = await runProbe({ to: "127.0.0.1", proto: "icmp", timeoutMs: 2000 });
    expect(r).toMatchObject({ outcome: "answered", replyFrom: "127.0.0.1" });
  });
});
