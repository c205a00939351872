/** The UDP echo client against hand-made peers on loopback: retries, who answered, bad answers. */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket as UdpSocket } from "node:dgram";
import { createSocket } from "node:dgram";
import { pollUntil } from "../base/poll-until.ts";
import { EchoProbeError, probeEchoUdp } from "./echo-client.ts";
import type { EchoReply } from "./echo-reply.ts";

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function udpSocket(address: string): Promise<UdpSocket> {
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  cleanups.push(() => new Promise((resolve) => socket.close(() => resolve())));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, address, () => resolve(socket));
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  await pollUntil(what, condition, timeoutMs, { intervalMs: 10 });
}

const reply = (over: Partial<EchoReply>): string =>
  JSON.stringify({
    pod: "fake",
    ip: "127.0.0.1",
    from: "127.0.0.1",
    fromPort: 1,
    pid: 1,
    netns: "net:[1]",
    proto: "udp",
    ...over,
  });

describe("probeEchoUdp", () => {
  test("sends three datagrams from one port within the timeout, then names the silent peer", async () => {
    const sink = await udpSocket("127.0.0.1");
    const ports: number[] = [];
    sink.on("message", (_data, sender) => ports.push(sender.port));
    const port = sink.address().port;
    const error = await probeEchoUdp("127.0.0.1", port, 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EchoProbeError);
    expect((error as Error).message).toStartWith(`no UDP answer from 127.0.0.1:${port} within 300 ms`);
    await until("all three datagrams arrived", () => ports.length >= 3);
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(1);
  });

  test("a late first answer (lost first datagram) is still accepted on a retry", async () => {
    const peer = await udpSocket("127.0.0.1");
    let seen = 0;
    peer.on("message", (_data, sender) => {
      seen++;
      if (seen >= 2) peer.send(reply({ fromPort: sender.port }), sender.port, sender.address);
    });
    const p = await probeEchoUdp("127.0.0.1", peer.address().port, 600);
    expect(seen).toBe(2);
    expect(p.reply.fromPort).toBe(p.localPort);
  });

  test("replyFrom is the source of the answer, not the address probed", async () => {
    // The situation of a Service whose reply escaped un-DNAT: sent to one address, answered from another.
    const front = await udpSocket("127.0.0.1");
    const back = await udpSocket("127.0.0.2");
    front.on("message", (_data, sender) =>
      back.send(reply({ ip: "127.0.0.2", fromPort: sender.port }), sender.port, sender.address),
    );
    const p = await probeEchoUdp("127.0.0.1", front.address().port, 1000);
    expect(p.replyFrom).toBe("127.0.0.2");
    expect(p.localIp).toBe("127.0.0.1");
    expect(p.reply.pod).toBe("fake");
  });

  test("an answer that is not an echo reply is an error naming its sender", async () => {
    const peer = await udpSocket("::1");
    peer.on("message", (_data, sender) => peer.send("SSH-2.0-OpenSSH\r\n", sender.port, sender.address));
    const port = peer.address().port;
    await expect(probeEchoUdp("::1", port, 1000)).rejects.toThrow(
      `unexpected UDP answer from [::1]:${port}: Invalid echo reply`,
    );
  });

  test("a local port in use is a clear error", async () => {
    const busy = await udpSocket("0.0.0.0");
    const port = busy.address().port;
    await expect(probeEchoUdp("127.0.0.1", 9, 300, port)).rejects.toThrow(
      `cannot bind a UDP socket to local port ${port}`,
    );
  });

  test("refuses a name instead of an address", async () => {
    await expect(probeEchoUdp("localhost", 8080, 300)).rejects.toThrow('"localhost" is not an IP address');
  });
});
