/**
 * The latency client, run inside a client namespace with `ip netns exec`: opens TCP connections
 * to ClusterIPs one at a time (connection-plan.ts says which) and times each from the connect()
 * call to the handshake's completion ("connect") and to the first byte of the backend's reply
 * ("first byte"). The reply names the address the backend was reached on, which must be one of
 * the Service's endpoints: proof that the ruleset, not some other path, carried the connection.
 * Each connection is fully closed before the next opens; the server closes first, so TIME_WAIT
 * sits in the backend and this namespace never runs short of ports.
 *
 * usage: bun bench/proxy/connect-client.ts SERVICES ENDPOINTS_PER_SERVICE COUNT WARMUP SEED
 * Prints one ClientResult (JSON) on stdout.
 */
import { createConnection } from "node:net";
import type { ClientResult, TargetKind } from "./connection-plan.ts";
import { connectionTargets } from "./connection-plan.ts";
import { clusterIpOf, endpointSerial, podIpOf, SERVICE_PORT } from "./service-input.ts";

const TIMEOUT_MS = 5000;

interface Sample {
  readonly connectMs: number;
  readonly firstByteMs: number;
  readonly reached: string;
}

function connectOnce(host: string, port: number): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let connectMs = Number.NaN;
    let firstByteMs = Number.NaN;
    let data = "";
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${host}:${port}: no complete answer within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    socket.setEncoding("utf8");
    socket.once("connect", () => {
      connectMs = performance.now() - start;
    });
    socket.on("data", (chunk: string) => {
      if (Number.isNaN(firstByteMs)) firstByteMs = performance.now() - start;
      data += chunk;
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${host}:${port}: ${e.message}`));
    });
    socket.once("close", (hadError) => {
      clearTimeout(timer);
      if (hadError) return;
      try {
        const reply = JSON.parse(data.trim()) as { ip?: unknown };
        if (typeof reply.ip !== "string") throw new Error("no ip");
        resolve({ connectMs, firstByteMs, reached: reply.ip });
      } catch {
        reject(new Error(`${host}:${port}: unexpected answer ${JSON.stringify(data.slice(0, 120))}`));
      }
    });
  });
}

function intArg(index: number, name: string): number {
  const n = Number(Bun.argv[index + 2]);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`connect-client: ${name} "${Bun.argv[index + 2]}" must be an integer ≥ 0\n`);
    process.exit(2);
  }
  return n;
}

const services = intArg(0, "SERVICES");
const perService = intArg(1, "ENDPOINTS_PER_SERVICE");
const count = intArg(2, "COUNT");
const warmup = intArg(3, "WARMUP");
const seed = intArg(4, "SEED");

const samples: Record<TargetKind, { connectMs: number[]; firstByteMs: number[] }> = {
  last: { connectMs: [], firstByteMs: [] },
  random: { connectMs: [], firstByteMs: [] },
};
let errors = 0;
let wrongEndpoint = 0;
const firstErrors: string[] = [];
const targets = connectionTargets(services, warmup + count, seed);
for (const [i, target] of targets.entries()) {
  const clusterIP = clusterIpOf(target.service);
  try {
    const s = await connectOnce(clusterIP, SERVICE_PORT);
    const endpoints = new Set<string>();
    for (let e = 0; e < perService; e++)
      endpoints.add(podIpOf(endpointSerial(target.service, e, perService)));
    if (!endpoints.has(s.reached)) {
      wrongEndpoint++;
      if (firstErrors.length < 5)
        firstErrors.push(
          `${clusterIP}: answered by ${s.reached}, not an endpoint of Service #${target.service}`,
        );
      continue;
    }
    if (i < warmup) continue;
    samples[target.kind].connectMs.push(s.connectMs);
    samples[target.kind].firstByteMs.push(s.firstByteMs);
  } catch (e) {
    errors++;
    if (firstErrors.length < 5) firstErrors.push((e as Error).message);
  }
}
const result: ClientResult = { samples, errors, wrongEndpoint, firstErrors };
process.stdout.write(`${JSON.stringify(result)}\n`);
