/**
 * The probe of `podnet trace`: one TCP connection, one UDP exchange or one ICMP echo from a fixed
 * source port, reported as a ProbeResult whatever happens — a refusal or a timeout is an answer
 * the trace explains, not a failure. `podnet probe` runs it inside the source pod's namespace
 * (the agent starts it with nsenter), so it must not need anything but the kernel and ping.
 */
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { createConnection } from "node:net";
import { escapeControls } from "../base/control-chars.ts";
import { unhandled } from "../base/unhandled.ts";
import type { ProbeResult, TraceProto } from "../cluster/diagnosis-protocol.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";

export interface ProbeOptions {
  /** The destination address (validated by the caller). */
  readonly to: string;
  /** tcp/udp: the destination port. */
  readonly port?: number;
  readonly proto: TraceProto;
  /** tcp/udp: the local port, so the tracing rules match the probe. */
  readonly sport?: number;
  readonly timeoutMs: number;
}

/** The answer's first line is kept up to this many bytes. */
export const MAX_ANSWER_BYTES = 512;
/** UDP may lose the first datagram while the path's neighbours are resolved (ARP/NDP queue limits). */
const UDP_ATTEMPTS = 3;
const UDP_PAYLOAD = "podnet trace probe\n";

type Echo = NonNullable<ProbeResult["echo"]>;

/** IPv4 peers of a dual-stack socket appear as ::ffff:a.b.c.d. */
function bare(address: string | undefined): string | undefined {
  if (address === undefined || address === "") return undefined;
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  const ip = tryParseIP(plain);
  return ip === undefined ? plain : formatIP(ip);
}

/**
 * The fields of podnet's echo reply (lab/echo-reply.ts, which this layer cannot import) when
 * `line` is one, validated; undefined for any other answer.
 */
export function parseEchoFields(line: string): Echo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  const ip = typeof o.ip === "string" ? tryParseIP(bare(o.ip) ?? "") : undefined;
  const from = typeof o.from === "string" ? tryParseIP(bare(o.from) ?? "") : undefined;
  const port = o.fromPort;
  if (typeof o.pod !== "string" || o.pod === "" || o.pod.length > 253) return undefined;
  if (ip === undefined || from === undefined) return undefined;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { pod: o.pod, ip: formatIP(ip), from: formatIP(from), fromPort: port };
}

/** The first line of `data`, at most MAX_ANSWER_BYTES bytes, without the newline. */
export function firstLine(data: Buffer): string {
  const nl = data.indexOf(10);
  const line = data.subarray(0, Math.min(nl < 0 ? data.length : nl, MAX_ANSWER_BYTES));
  return line.toString("utf8").replace(/\r$/, "");
}

function withAnswer(result: ProbeResult, data: Buffer): ProbeResult {
  if (data.length === 0) return result;
  const line = firstLine(data);
  const echo = parseEchoFields(line);
  // The destination's bytes are shown on a terminal: controls are written visibly.
  return {
    ...result,
    answer: escapeControls(line),
    ...(echo !== undefined ? { echo: { ...echo, pod: escapeControls(echo.pod) } } : {}),
  };
}

/** The outcome a socket error stands for. */
export function outcomeOfErrno(code: string | undefined): ProbeResult["outcome"] {
  switch (code) {
    case "ECONNREFUSED":
      return "refused";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EACCES":
    case "EPERM":
      return "unreachable";
    case "ETIMEDOUT":
      return "timeout";
    default:
      return "error";
  }
}

const anyAddress = (to: string) => (to.includes(":") ? "::" : "0.0.0.0");

function probeTcp(o: ProbeOptions, port: number): Promise<ProbeResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let connected: Pick<ProbeResult, "localIp" | "localPort" | "replyFrom"> | undefined;
    let data = Buffer.alloc(0);
    let settled = false;
    const socket = createConnection({
      host: o.to,
      port,
      ...(o.sport !== undefined ? { localPort: o.sport, localAddress: anyAddress(o.to) } : {}),
    });
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const answered = () => withAnswer({ outcome: "answered", ms: ms(), ...connected }, data);
    const timer = setTimeout(
      () => finish(connected !== undefined ? answered() : { outcome: "timeout", ms: ms() }),
      o.timeoutMs,
    );
    socket.on("connect", () => {
      // Read now: a destroyed socket no longer knows its addresses.
      const localIp = bare(socket.localAddress);
      const replyFrom = bare(socket.remoteAddress);
      connected = {
        ...(localIp !== undefined ? { localIp } : {}),
        ...(socket.localPort !== undefined ? { localPort: socket.localPort } : {}),
        ...(replyFrom !== undefined ? { replyFrom } : {}),
      };
    });
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.includes(10) || data.length >= MAX_ANSWER_BYTES) finish(answered());
    });
    socket.on("end", () => finish(answered()));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // A reset after the connection was made is still an answer from the destination.
      if (connected !== undefined) return finish(answered());
      finish({ outcome: outcomeOfErrno(e.code), ms: ms(), error: e.message });
    });
  });
}

/**
 * One UDP exchange, the datagram sent up to three times within the timeout. The socket stays
 * unconnected: a reply from an unexpected source (un-DNAT missed) is evidence, which a connected
 * socket would drop. The price: an ICMP port unreachable is not reported, it shows as a timeout.
 */
function probeUdp(o: ProbeOptions, port: number): Promise<ProbeResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const socket = createSocket(o.to.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve) => {
    let settled = false;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      try {
        socket.close();
      } catch {
        // Closing a socket that failed to bind throws; nothing is left to release.
      }
      resolve(result);
    };
    const local = (): Pick<ProbeResult, "localIp" | "localPort"> => {
      try {
        const a = socket.address();
        return { localPort: a.port };
      } catch {
        return {};
      }
    };
    socket.on("error", (e: NodeJS.ErrnoException) =>
      finish({ outcome: outcomeOfErrno(e.code), ms: ms(), error: e.message }),
    );
    socket.on("message", (msg, rinfo) => {
      const replyFrom = bare(rinfo.address);
      finish(
        withAnswer(
          { outcome: "answered", ms: ms(), ...local(), ...(replyFrom !== undefined ? { replyFrom } : {}) },
          msg,
        ),
      );
    });
    const send = (): void => {
      socket.send(UDP_PAYLOAD, port, o.to, (e) => {
        if (e)
          finish({ outcome: outcomeOfErrno((e as NodeJS.ErrnoException).code), ms: ms(), error: e.message });
      });
    };
    socket.bind(o.sport ?? 0, () => {
      for (let i = 0; i < UDP_ATTEMPTS; i++)
        timers.push(setTimeout(send, Math.floor((o.timeoutMs * i) / (UDP_ATTEMPTS + 1))));
      timers.push(setTimeout(() => finish({ outcome: "timeout", ms: ms(), ...local() }), o.timeoutMs));
    });
  });
}

/** What one `ping -c 1 -n` said: iputils prints the reply, or the ICMP error and who sent it. */
export function pingOutcome(exitCode: number, output: string, ms: number): ProbeResult {
  const reply = /bytes from ([0-9a-fA-F.:]+?):? .*icmp_seq=/m.exec(output);
  if (exitCode === 0 && reply !== null) {
    const from = bare(reply[1]);
    return { outcome: "answered", ms, ...(from !== undefined ? { replyFrom: from } : {}) };
  }
  const icmpError = /^From ([0-9a-fA-F.:]+?):? .*icmp_seq=\d+ (.+)$/m.exec(output);
  if (icmpError !== null) {
    const from = bare(icmpError[1]);
    const what = (icmpError[2] ?? "").trim();
    const outcome = /port unreachable/i.test(what) ? "refused" : "unreachable";
    return { outcome, ms, ...(from !== undefined ? { replyFrom: from } : {}), error: what };
  }
  if (exitCode === 1) return { outcome: "timeout", ms };
  const line = output.trim().split("\n").at(-1) ?? "";
  if (/unreachable/i.test(line)) return { outcome: "unreachable", ms, error: line };
  return { outcome: "error", ms, error: line === "" ? `ping exited with ${exitCode}` : line };
}

async function probeIcmp(o: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const seconds = Math.max(1, Math.ceil(o.timeoutMs / 1000));
  return new Promise((resolve) => {
    let output = "";
    const child = spawn("ping", ["-c", "1", "-W", String(seconds), "-n", o.to], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString("utf8");
    });
    const ms = () => Math.round(performance.now() - started);
    child.on("error", (e) => resolve({ outcome: "error", ms: ms(), error: `cannot run ping: ${e.message}` }));
    child.on("close", (code) => resolve(pingOutcome(code ?? 2, output, ms())));
  });
}

/** Runs the probe; never throws for what the network does (the outcome says it). */
export async function runProbe(o: ProbeOptions): Promise<ProbeResult> {
  switch (o.proto) {
    case "tcp":
      return probeTcp(o, requirePort(o));
    case "udp":
      return probeUdp(o, requirePort(o));
    case "icmp":
      return probeIcmp(o);
    default:
      return unhandled(o.proto);
  }
}

function requirePort(o: ProbeOptions): number {
  if (o.port === undefined) throw new Error(`Cannot probe ${o.to} over ${o.proto}: no destination port`);
  return o.port;
}
