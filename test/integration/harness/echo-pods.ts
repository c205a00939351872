/**
 * Real traffic between test pods: the lab's echo server (`podnet lab echo-server`) started inside
 * a pod, and one TCP connection to it from any namespace (`podnet lab echo-client`), whose reply
 * says which pod answered and which source address it saw.
 */
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { pollUntil } from "../../../src/base/poll-until.ts";
import type { EchoProbe } from "../../../src/lab/echo-server.ts";
import { run } from "../../../src/linux/exec.ts";
import { inNetns } from "../../../src/linux/netns.ts";
import { PODNET } from "../../../testkit/podnet-build.ts";
import type { TestRun } from "./test-run.ts";

export const ECHO_PORT = 8080;

/**
 * Starts the echo server in `netns` as pod `pod`, its output in a log file of the run (a pipe
 * nobody reads would block it once full); resolves once it listens. Killed on the run's dispose.
 */
export async function startEchoServer(
  testRun: TestRun,
  netns: string,
  pod: string,
  port = ECHO_PORT,
): Promise<void> {
  const logPath = `${testRun.dir}/echo-${pod}-${port}.log`;
  const fd = openSync(logPath, "a");
  try {
    testRun.adopt(
      Bun.spawn(inNetns(netns, [PODNET, "lab", "echo-server", "--pod", pod, "--port", String(port)]), {
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
      }),
    );
  } finally {
    closeSync(fd);
  }
  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  await pollUntil(`the echo server of ${pod} in ${netns}`, () => log().includes("listening"), 10_000, {
    detail: log,
  });
}

export interface EchoOptions {
  readonly port?: number;
  /** One datagram instead of a TCP connection. */
  readonly udp?: boolean;
  /** The client's own (UDP) port, so a test can reuse one conntrack flow. */
  readonly localPort?: number;
  readonly timeoutMs?: number;
}

/** The probe's reply, or why there was none; `ms` (spawn included) is for reports, never asserted. */
export type EchoOutcome =
  | { readonly ok: true; readonly probe: EchoProbe; readonly ms: number }
  | { readonly ok: false; readonly error: string; readonly ms: number };

/** One probe from namespace `ns` to an echo server (TCP, or UDP); never throws for a failed probe. */
export async function tryEcho(ns: string, host: string, o: EchoOptions = {}): Promise<EchoOutcome> {
  const timeoutMs = o.timeoutMs ?? 3000;
  const argv = [PODNET, "lab", "echo-client", "--host", host, "--port", String(o.port ?? ECHO_PORT)];
  argv.push("--timeout", String(timeoutMs), ...(o.udp ? ["--udp"] : []));
  if (o.localPort !== undefined) argv.push("--local-port", String(o.localPort));
  const started = performance.now();
  const r = await run(inNetns(ns, argv), { timeoutMs: timeoutMs + 7000 });
  const ms = Math.round(performance.now() - started);
  if (r.code === 0) return { ok: true, probe: JSON.parse(r.stdout) as EchoProbe, ms };
  return { ok: false, error: r.stderr.trim(), ms };
}

/** One probe from namespace `ns` to an echo server; throws when it gets no answer. */
export async function probeEcho(ns: string, host: string, o: EchoOptions = {}): Promise<EchoProbe> {
  const r = await tryEcho(ns, host, o);
  if (!r.ok)
    throw new Error(
      `probe from ${ns} to ${host}:${o.port ?? ECHO_PORT}${o.udp ? "/udp" : ""} failed: ${r.error}`,
    );
  return r.probe;
}
