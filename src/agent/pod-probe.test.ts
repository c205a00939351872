/** The probes against servers on this process's loopback: real sockets, nothing else touched. */
import { afterAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { type ProbeOutcome, probePod, probeWithin } from "./pod-probe.ts";

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A TCP server on 127.0.0.1 answering each connection with `reply` (or holding it when undefined). */
async function serve(reply: string | undefined): Promise<number> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    if (reply !== undefined) socket.end(reply);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A port nothing listens on: one a server had and gave back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("probePod", () => {
  test("TCP: a listening port succeeds, a closed one fails with the reason", async () => {
    const open = await serve(undefined);
    expect(await probePod("127.0.0.1", { kind: "tcp", port: open }, 2000)).toEqual({
      result: "success",
      detail: "connected",
    });
    const closed = await closedPort();
    expect(await probePod("127.0.0.1", { kind: "tcp", port: closed }, 2000)).toEqual({
      result: "failure",
      detail: "ECONNREFUSED",
    });
  });

  test.each([
    ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "success", "HTTP 200"],
    ["HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\n\r\n", "success", "HTTP 302"],
    ["HTTP/1.0 503 Service Unavailable\r\n\r\n", "failure", "HTTP 503"],
    ["HTTP/1.1 404 Not Found\r\n\r\n", "failure", "HTTP 404"],
    ["SSH-2.0-OpenSSH\r\n", "failure", "no HTTP status line"],
    ["", "failure", "closed before answering"],
  ] as const)("HTTP answer %j: %s (%s)", async (reply, result, detail) => {
    const port = await serve(reply);
    expect(await probePod("127.0.0.1", { kind: "http", port, path: "/healthz" }, 2000)).toEqual({
      result,
      detail,
    });
  });

  test("HTTP: a server that never answers fails after the timeout", async () => {
    const port = await serve(undefined);
    expect(await probePod("127.0.0.1", { kind: "http", port, path: "/" }, 200)).toEqual({
      result: "failure",
      detail: "timed out after 200 ms",
    });
  });

  test("HTTP: the request names the path and the host", async () => {
    let request = "";
    const server = createServer((socket) => {
      socket.on("data", (d) => {
        request += d.toString();
        if (request.includes("\r\n\r\n")) socket.end("HTTP/1.1 204 No Content\r\n\r\n");
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    expect((await probePod("127.0.0.1", { kind: "http", port, path: "/ready?x=1" }, 2000)).result).toBe(
      "success",
    );
    expect(request).toStartWith("GET /ready?x=1 HTTP/1.1\r\n");
    expect(request).toContain(`\r\nHost: 127.0.0.1:${port}\r\n`);
  });
});

describe("probeWithin", () => {
  const tcp = { kind: "tcp", port: 1 } as const;
  test("a probe that never ends fails after its timeout; one that throws fails; one that ends is kept", async () => {
    const never = () => new Promise<ProbeOutcome>(() => {});
    expect(await probeWithin(never, "10.0.0.1", tcp, 10)).toEqual({
      result: "failure",
      detail: "no result within 10 ms",
    });
    const throws = () => Promise.reject(new Error("no route"));
    expect(await probeWithin(throws, "10.0.0.1", tcp, 10)).toMatchObject({ result: "failure" });
    const ok = (ip: string): Promise<ProbeOutcome> => Promise.resolve({ result: "success", detail: ip });
    expect(await probeWithin(ok, "10.0.0.1", tcp, 10)).toEqual({ result: "success", detail: "10.0.0.1" });
  });
});
