/**
 * `podnet lab echo-server` and `podnet lab echo-client`: what runs inside the lab's pods and nodes.
 * The client prints one EchoProbe JSON object that `lab check` and the integration tests parse.
 */
import { tryParseIP } from "../ipnet/address.ts";
import { probeEcho, probeEchoUdp } from "../lab/echo-client.ts";
import { ownNetns, serveEcho } from "../lab/echo-server.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";

/** Flags of `lab echo-client` that take no value (for parseArgs). */
export const ECHO_CLIENT_SWITCHES: readonly string[] = ["udp"];

const DEFAULT_PORT = 8080;
const DEFAULT_TIMEOUT_MS = 3000;
const MAX_TIMEOUT_MS = 600_000;

export interface EchoServerOptions {
  readonly pod: string;
  readonly port: number;
}

export interface EchoClientOptions {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly udp: boolean;
  /** Only with udp: keep one source port across probes. */
  readonly localPort: number | undefined;
}

function noPositionals(args: ParsedArgs): void {
  const [extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
}

function portFlag(args: ParsedArgs, name: string): number | undefined {
  const text = flag(args, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > 65535)
    throw new UsageError(`--${name} "${text}" must be a port number from 1 to 65535`);
  return n;
}

function timeoutFlag(args: ParsedArgs): number {
  const text = flag(args, "timeout");
  if (text === undefined) return DEFAULT_TIMEOUT_MS;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > MAX_TIMEOUT_MS)
    throw new UsageError(
      `--timeout "${text}" must be a positive integer number of milliseconds (at most ${MAX_TIMEOUT_MS})`,
    );
  return n;
}

function switchFlag(args: ParsedArgs, name: string): boolean {
  const text = flag(args, name);
  if (text === undefined || text === "false") return false;
  if (text === "true") return true;
  throw new UsageError(`--${name} takes no value (got "${text}")`);
}

export function parseEchoServerArgs(args: ParsedArgs): EchoServerOptions {
  assertKnownFlags(args, ["pod", "port"]);
  noPositionals(args);
  return { pod: flag(args, "pod") ?? "unknown", port: portFlag(args, "port") ?? DEFAULT_PORT };
}

export function parseEchoClientArgs(args: ParsedArgs): EchoClientOptions {
  assertKnownFlags(args, ["host", "port", "timeout", "udp", "local-port"]);
  noPositionals(args);
  const host = flag(args, "host");
  if (host === undefined) throw new UsageError("--host is required");
  // An address, never a name: a probe proves how packets to one address travel, and a name lookup
  // inside a pod namespace would be one more thing that can fail for unrelated reasons.
  if (!tryParseIP(host)) throw new UsageError(`--host "${host}" must be an IPv4 or IPv6 address`);
  const udp = switchFlag(args, "udp");
  const localPort = portFlag(args, "local-port");
  if (localPort !== undefined && !udp)
    throw new UsageError("--local-port needs --udp: a TCP probe always uses a fresh ephemeral port");
  return { host, port: portFlag(args, "port") ?? DEFAULT_PORT, timeoutMs: timeoutFlag(args), udp, localPort };
}

export async function echoServerCommand(args: ParsedArgs): Promise<number> {
  const { pod, port } = parseEchoServerArgs(args);
  const server = await serveEcho(pod, port);
  // The lab and the integration harnesses wait for "listening" on stdout before probing.
  console.log(
    `echo server for ${pod} listening on port ${server.port} (tcp on ::, udp on ${server.udpAddresses().join(" ")}) (${ownNetns()})`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await server.close();
  return 0;
}

export async function echoClientCommand(args: ParsedArgs): Promise<number> {
  const o = parseEchoClientArgs(args);
  const probe = o.udp
    ? await probeEchoUdp(o.host, o.port, o.timeoutMs, o.localPort)
    : await probeEcho(o.host, o.port, o.timeoutMs);
  console.log(JSON.stringify(probe));
  return 0;
}
