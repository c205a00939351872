/**
 * The echo server and client on real sockets, over loopback of the namespace the tests run in
 * (ephemeral ports, everything closed at the end).
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket as UdpSocket } from "node:dgram";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { pollUntil } from "../base/poll-until.ts";
import { probeEcho, probeEchoUdp } from "./echo-client.ts";
import type { EchoServer } from "./echo-server.ts";
import { echoUdpAddresses, ownNetns, serveEcho } from "./echo-server.ts";

const TIMEOUT_MS = 2000;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function start(
  options: Parameters<typeof serveEcho>[2] = {},
): Promise<{ server: EchoServer; log: string[] }> {
  const log: string[] = [];
  const server = await serveEcho("pod-a", 0, { log: (line) => log.push(line), ...options });
  cleanups.push(() => server.close());
  return { server, log };
}

async function until(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  await pollUntil(what, condition, timeoutMs, { intervalMs: 10 });
}

function udpSocket(type: "udp4" | "udp6", address: string, port = 0): Promise<UdpSocket> {
  const socket = createSocket(type);
  cleanups.push(() => new Promise((resolve) => socket.close(() => resolve())));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => resolve(socket));
  });
}

describe("echoUdpAddresses", () => {
  test("loopback first, then every non-link-local address once, in canonical form", () => {
    const addresses = echoUdpAddresses({
      lo: [{ address: "127.0.0.1" }, { address: "::1" }, { address: "127.0.0.2" }],
      eth0: [{ address: "10.244.1.5" }, { address: "FD00:0:0::5" }, { address: "fe80::1" }],
      eth1: [{ address: "169.254.1.1" }, { address: "10.244.1.5" }, { address: "192.0.2.7" }],
      down: undefined,
    });
    expect(addresses).toEqual(["127.0.0.1", "::1", "10.244.1.5", "fd00::5", "192.0.2.7"]);
  });

  test("serves loopback even when the interface list is empty (lo not yet up)", () => {
    expect(echoUdpAddresses({})).toEqual(["127.0.0.1", "::1"]);
  });
});

describe("serveEcho and the probes on loopback", () => {
  for (const host of ["127.0.0.1", "::1"]) {
    test(`TCP to ${host}: the reply and the client agree on both ends of the connection`, async () => {
      const { server } = await start();
      const p = await probeEcho(host, server.port, TIMEOUT_MS);
      expect(p.reply).toMatchObject({ pod: "pod-a", ip: host, from: host, proto: "tcp", netns: ownNetns() });
      expect(p.replyFrom).toBe(host);
      expect(p.localIp).toBe(host);
      expect(p.localPort).toBe(p.reply.fromPort);
      expect(p.localPort).toBeGreaterThan(0);
      expect(p.clientNetns).toBe(ownNetns());
    });

    test(`UDP to ${host}: answered from the address it was sent to, to the port it came from`, async () => {
      const { server } = await start();
      expect(server.udpAddresses()).toContain(host);
      const p = await probeEchoUdp(host, server.port, TIMEOUT_MS);
      expect(p.reply).toMatchObject({ pod: "pod-a", ip: host, from: host, proto: "udp", pid: process.pid });
      expect(p.replyFrom).toBe(host);
      expect(p.localIp).toBe(host);
      expect(p.localPort).toBe(p.reply.fromPort);
    });

    test(`UDP to ${host} from a fixed local port works twice in a row`, async () => {
      const { server } = await start();
      // A free port: bind one, note it, release it.
      const type = host.includes(":") ? "udp6" : "udp4";
      const probeSocket = createSocket(type);
      const fixed = await new Promise<number>((resolve) =>
        probeSocket.bind(0, host, () => resolve(probeSocket.address().port)),
      );
      await new Promise<void>((resolve) => probeSocket.close(() => resolve()));
      for (let i = 0; i < 2; i++) {
        const p = await probeEchoUdp(host, server.port, TIMEOUT_MS, fixed);
        expect(p.localPort).toBe(fixed);
        expect(p.reply.fromPort).toBe(fixed);
        expect(p.reply.proto).toBe("udp");
      }
    });
  }

  test("each local address answers UDP as itself (one socket per address)", async () => {
    const { server } = await start();
    expect(server.udpAddresses()).toEqual(echoUdpAddresses(networkInterfaces()));
    for (const address of server.udpAddresses()) {
      const p = await probeEchoUdp(address, server.port, TIMEOUT_MS);
      expect(p.reply.ip).toBe(address);
      expect(p.replyFrom).toBe(address);
    }
  });

  test("binds addresses that appear later and closes those that vanish", async () => {
    let addresses = ["127.0.0.1"];
    const { server, log } = await start({ listAddresses: () => addresses, rescanMs: 20 });
    expect(server.udpAddresses()).toEqual(["127.0.0.1"]);
    addresses = ["127.0.0.1", "::1"];
    await until("::1 is served", () => server.udpAddresses().includes("::1"));
    expect((await probeEchoUdp("::1", server.port, TIMEOUT_MS)).reply.ip).toBe("::1");
    expect(log.some((l) => l.includes("now serving UDP on ::1"))).toBe(true);
    addresses = ["127.0.0.1"];
    await until("::1 is dropped", () => !server.udpAddresses().includes("::1"));
    await expect(probeEchoUdp("::1", server.port, 300)).rejects.toThrow(
      `no UDP answer from [::1]:${server.port} within 300 ms`,
    );
  });

  test("an address that is not (yet) configured is retried, not fatal, and reported once", async () => {
    const present = new Set(
      Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)),
    );
    const absent = [...Array(250).keys()].map((i) => `198.51.100.${i + 1}`).find((a) => !present.has(a));
    if (!absent) throw new Error("no free documentation address to test with");
    let scans = 0;
    const listAddresses = () => {
      scans++;
      return ["127.0.0.1", absent];
    };
    const { server, log } = await start({ listAddresses, rescanMs: 20 });
    expect(server.udpAddresses()).toEqual(["127.0.0.1"]);
    await until("several rescans ran", () => scans >= 5);
    const reports = log.filter((l) => l.includes(`cannot serve UDP on ${absent}`));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain("EADDRNOTAVAIL");
  });

  test("a UDP port already taken fails the start and releases the TCP port", async () => {
    const taken = await udpSocket("udp4", "127.0.0.1");
    const port = taken.address().port;
    await expect(serveEcho("pod-a", port, { log: () => {} })).rejects.toThrow(
      `cannot serve UDP on 127.0.0.1 port ${port}`,
    );
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port, "::", () => resolve());
    });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  });

  test("close() stops both protocols", async () => {
    const server = await serveEcho("pod-a", 0, { log: () => {} });
    await server.close();
    expect(server.udpAddresses()).toEqual([]);
    await expect(probeEcho("127.0.0.1", server.port, TIMEOUT_MS)).rejects.toThrow("cannot reach 127.0.0.1");
    await expect(probeEchoUdp("127.0.0.1", server.port, 300)).rejects.toThrow("no UDP answer");
  });
});
