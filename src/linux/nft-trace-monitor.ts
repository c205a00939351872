/**
 * One `nft monitor trace` child in the current network namespace (the trace bit and its events
 * are per namespace: research/trace-anchors.md §7.1), its text parsed as it arrives. Started
 * before the probe and proven live with sentinel datagrams to loopback that the tracing table's
 * trace-out chain marks: the monitor is ready once it printed one. Sentinel events are left out.
 */
import { createSocket, type Socket } from "node:dgram";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { formatIP, type IPAddress, parseIP } from "../ipnet/address.ts";
import type { TraceEvent } from "./kernel-facts.ts";
import { parseTraceLine } from "./nft-trace-parse.ts";

export interface TraceMonitor {
  /** Date.now() when the child was started; events' atMs count from here. */
  readonly startedAt: number;
  /** The events read so far (sentinel events left out). */
  events(): TraceEvent[];
  /** Ends the child and returns every event read; resolves also when the child had died. */
  stop(): Promise<TraceEvent[]>;
  /** Why the child ended before stop() (exit code and stderr), when it did. */
  failure(): string | undefined;
  /** Events not kept because the kept ones reached MAX_TRACE_EVENT_BYTES. */
  dropped(): number;
}

export class TraceMonitorError extends Error {
  override readonly name = "TraceMonitorError";
  constructor(reason: string) {
    super(`Cannot start "nft monitor trace": ${reason}`);
  }
}

/**
 * A flood must neither eat the agent's memory nor outgrow the answer (diagnosis-protocol.ts
 * MAX_ANSWER_BYTES): events past this many serialized bytes are counted, not kept.
 */
export const MAX_TRACE_EVENT_BYTES = 384 * 1024;
/**
 * Set in every monitor child's environment, so an agent starting after a crash finds the monitors
 * its predecessor left (sweepOrphanMonitors): they never end by themselves once nothing is traced.
 */
export const MONITOR_MARKER = "PODNET_TRACE_MONITOR=1";
const SENTINEL_INTERVAL_MS = 50;
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function nftPath(): string {
  const found = Bun.which("nft", { PATH: `${process.env.PATH ?? ""}:${SYSTEM_PATH}` });
  if (!found) throw new TraceMonitorError(`"nft" not found in PATH or ${SYSTEM_PATH}`);
  return found;
}

function loopback(address: string): IPAddress {
  const ip = parseIP(address);
  if (ip.family === 4 ? ip.value >> 24n !== 127n : ip.value !== 1n)
    throw new TraceMonitorError(`sentinel ${address} is not a loopback address`);
  return ip;
}

/** Keeps what the probe caused; drops what the sentinel caused (the same trace id may recur later). */
export class SentinelFilter {
  private readonly ids = new Set<string>();
  constructor(
    private readonly address: string,
    private readonly port: number,
  ) {}

  /** This monitor's own sentinel: the proof that it is live. */
  isSentinelPacket(e: TraceEvent): boolean {
    return e.type === "packet" && e.daddr === this.address && e.dport === this.port && e.l4proto === "udp";
  }

  /** Any session's sentinel (tracing is per namespace: concurrent sessions see each other's). */
  isAnySentinel(e: TraceEvent): boolean {
    return (
      e.type === "packet" &&
      e.l4proto === "udp" &&
      e.dport === this.port &&
      e.daddr?.startsWith("127.") === true
    );
  }

  keep(e: TraceEvent): boolean {
    if (e.type === "packet") {
      if (this.isAnySentinel(e)) {
        this.ids.add(e.traceId);
        return false;
      }
      this.ids.delete(e.traceId);
      return true;
    }
    return !this.ids.has(e.traceId);
  }
}

export async function startTraceMonitor(options: {
  readonly sentinel: { readonly address: string; readonly port: number };
  readonly readyTimeoutMs: number;
}): Promise<TraceMonitor> {
  const sentinelIp = loopback(options.sentinel.address);
  const port = options.sentinel.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new TraceMonitorError(`sentinel port ${port} is not a port (1-65535)`);
  const sentinelAddress = formatIP(sentinelIp);
  const filter = new SentinelFilter(sentinelAddress, port);

  const [markerName, markerValue] = MONITOR_MARKER.split("=") as [string, string];
  const child = Bun.spawn([nftPath(), "monitor", "trace"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, [markerName]: markerValue },
  });
  const startedAt = Date.now();
  const events: TraceEvent[] = [];
  let keptBytes = 0;
  let dropped = 0;
  let ready = false;
  let onReady: (() => void) | undefined;
  let stopping = false;
  let failure: string | undefined;

  const accept = (line: string): void => {
    const e = parseTraceLine(line, Date.now() - startedAt);
    if (e === undefined) return;
    if (!ready && filter.isSentinelPacket(e)) {
      ready = true;
      onReady?.();
    }
    if (!filter.keep(e)) return;
    const size = JSON.stringify(e).length + 1;
    if (keptBytes + size > MAX_TRACE_EVENT_BYTES) {
      dropped++;
      return;
    }
    keptBytes += size;
    events.push(e);
  };

  const reading = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) accept(line);
    }
    pending += decoder.decode();
    if (pending.trim() !== "") accept(pending);
  })();
  const stderr = new Response(child.stderr).text();
  const exited = child.exited.then(async (code) => {
    await reading.catch(() => undefined);
    if (!stopping)
      failure = `"nft monitor trace" exited with code ${code}: ${(await stderr).trim() || "(no output)"}`;
    onReady?.();
  });

  const socket: Socket = createSocket(sentinelIp.family === 4 ? "udp4" : "udp6");
  socket.on("error", () => {
    // An ICMP port unreachable for an earlier sentinel: nothing listens there, by design.
  });
  const send = (): void => socket.send("podnet-trace-sentinel", port, sentinelAddress);
  let sender: ReturnType<typeof setInterval> | undefined;
  const stopSentinel = (): void => {
    if (sender !== undefined) clearInterval(sender);
    sender = undefined;
  };

  const stop = async (): Promise<TraceEvent[]> => {
    stopSentinel();
    stopping = true;
    try {
      socket.close();
    } catch {
      // already closed by an earlier stop()
    }
    child.kill("SIGTERM");
    await exited;
    return [...events];
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TraceMonitorError(`no sentinel event within ${options.readyTimeoutMs} ms`)),
        options.readyTimeoutMs,
      );
      onReady = () => {
        clearTimeout(timer);
        if (ready) resolve();
        else reject(new TraceMonitorError(failure ?? "the monitor ended before it was ready"));
      };
      send();
      sender = setInterval(send, SENTINEL_INTERVAL_MS);
    });
  } catch (e) {
    await stop();
    throw e;
  } finally {
    stopSentinel();
    onReady = undefined;
  }

  return {
    startedAt,
    events: () => [...events],
    stop,
    failure: () => failure,
    dropped: () => dropped,
  };
}

/** What sweepOrphanMonitors reads of one process. */
export interface ProcessView {
  readonly pid: number;
  readonly ppid: number;
  /** argv, as /proc/PID/cmdline splits it. */
  readonly cmdline: readonly string[];
  readonly environ: readonly string[];
  /** Inode of /proc/PID/ns/net. */
  readonly netns: number;
}

/**
 * Pure: whether `p` is a trace monitor a previous agent left in this namespace: started by podnet
 * (MONITOR_MARKER), `nft monitor trace`, in the namespace `netns`, and not a child of `self`.
 */
export function isOrphanMonitor(
  p: ProcessView,
  self: { readonly pid: number; readonly netns: number },
): boolean {
  const [program, ...args] = p.cmdline;
  return (
    p.pid !== self.pid &&
    p.ppid !== self.pid &&
    p.netns === self.netns &&
    program !== undefined &&
    basename(program) === "nft" &&
    args.join(" ") === "monitor trace" &&
    p.environ.includes(MONITOR_MARKER)
  );
}

function readProcess(pid: number): ProcessView | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "PID (COMM) STATE PPID …": COMM may hold spaces and parentheses; the last ")" ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const split = (text: string) => text.split("\0").filter((x) => x !== "");
    return {
      pid,
      ppid,
      cmdline: split(readFileSync(`/proc/${pid}/cmdline`, "utf8")),
      environ: split(readFileSync(`/proc/${pid}/environ`, "utf8")),
      netns: statSync(`/proc/${pid}/ns/net`).ino,
    };
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/**
 * Ends the `nft monitor trace` children a crashed agent left in this network namespace (or in the
 * one at `netnsPath`); returns their pids. Run at agent start, before any session of its own.
 */
export function sweepOrphanMonitors(options: { readonly netnsPath?: string } = {}): number[] {
  const self = { pid: process.pid, netns: statSync(options.netnsPath ?? "/proc/self/ns/net").ino };
  const killed: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProcess(Number(name));
    if (p === undefined || !isOrphanMonitor(p, self)) continue;
    try {
      process.kill(p.pid, "SIGTERM");
      killed.push(p.pid);
    } catch {
      // it ended meanwhile
    }
  }
  return killed;
}
