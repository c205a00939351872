/**
 * The agent's side of plugin/agent-protocol.ts: executed plugins on this node hand their
 * ADD/DEL/CHECK/GC/STATUS to the agent, which runs the very same code (plugin/run-plugin.ts)
 * warm — its modules loaded, no process start-up per operation. As Calico's, Cilium's and the
 * AWS VPC CNI's thin plugins do with their daemons; unlike theirs, the plugin still does the work
 * itself whenever no agent answers (a host without an agent, an agent restarting).
 *
 * Operations run one at a time, to completion, in the order they arrived: `runPlugin` is
 * synchronous. So a plugin killed while it waits changes nothing — the operation finishes and the
 * runtime's following DEL is served after it — and an operation is never left half done by this
 * service unless the agent process itself dies, which the plugin reports as "try again later".
 */
import { chmodSync, mkdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { Socket, UnixSocketListener } from "bun";
import { COMMANDS } from "../cni/env.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import type { RelayReply, RelayRequest } from "../plugin/agent-protocol.ts";
import { AGENT_SOCKET_NAME, encodeLine, PROTOCOL_VERSION, parseRequest } from "../plugin/agent-protocol.ts";
import { runPlugin } from "../plugin/run-plugin.ts";
import { OpenNodeStates } from "./open-node-states.ts";

interface Connection {
  buffered: string;
  handled: boolean;
}

/** A request line this long is not a CNI config: the connection is dropped. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

function serviceMetrics(metrics: Metrics) {
  return {
    operations: metrics.counter(
      "podnet_agent_cni_operations_total",
      "Plugin operations handed to the agent, by command and result (ok, error, declined).",
      ["command", "result"],
    ),
    seconds: metrics.histogram(
      "podnet_agent_cni_operation_duration_seconds",
      "Time the agent spent on one plugin operation.",
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      ["command"],
    ),
  };
}

/** A metric label from what the plugin was asked: the CNI verbs, or "other". */
function commandLabel(command: string | undefined): string {
  return (COMMANDS as readonly (string | undefined)[]).includes(command) ? (command as string) : "other";
}

/** The same file, seen through two paths (dev and inode). */
function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Names the plugin is installed and run under (install.ts, scripts/build.sh). */
const PLUGIN_EXECUTABLES = new Set(["podnet", "podnet-ipam", "podnet-cni"]);

/**
 * Why this agent must not do the plugin's work, or undefined when it may. The work acts on the
 * network namespace the plugin runs in (the node's) and on CNI_NETNS as the plugin sees it; both
 * are read through /proc/PID, so PID must really be that plugin in our PID namespace (an agent
 * in a container of its own sees other processes under those numbers, or none).
 */
export function declineReason(request: RelayRequest): string | undefined {
  const proc = `/proc/${request.pid}`;
  let exe: string;
  let theirs: string;
  try {
    exe = readlinkSync(`${proc}/exe`);
    theirs = readlinkSync(`${proc}/ns/net`);
  } catch {
    return `cannot see the plugin's process ${request.pid} (another PID namespace?)`;
  }
  if (request.pid === process.pid || !PLUGIN_EXECUTABLES.has(basename(exe)))
    return `process ${request.pid} is ${exe}, not a podnet plugin (another PID namespace?)`;
  if (theirs !== readlinkSync("/proc/self/ns/net")) return "the plugin runs in another network namespace";
  const netns = request.env.CNI_NETNS ?? "";
  const command = request.env.CNI_COMMAND;
  if (netns.startsWith("/")) {
    const seen = `${proc}/root${netns}`;
    const mine = exists(netns);
    if (mine !== exists(seen) || (mine && !sameFile(seen, netns)))
      return `CNI_NETNS "${netns}" is not the same file for the agent`;
    // ADD and CHECK act inside it: if it is gone, the plugin itself says so. DEL may name one gone.
    if ((command === "ADD" || command === "CHECK") && !mine) return `CNI_NETNS "${netns}" does not exist`;
  }
  return undefined;
}

export class CniService {
  readonly socketPath: string;
  private listener: UnixSocketListener<Connection> | undefined;
  private readonly m: ReturnType<typeof serviceMetrics>;
  private readonly states = new OpenNodeStates();
  private readonly declined = new Set<string>();

  constructor(
    stateDir: string,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.socketPath = `${stateDir}/${AGENT_SOCKET_NAME}`;
    this.m = serviceMetrics(metrics);
  }

  start(): void {
    mkdirSync(dirname(this.socketPath), { recursive: true, mode: 0o700 });
    // A socket file left by an agent that died: nobody listens on it any more.
    rmSync(this.socketPath, { force: true });
    this.listener = Bun.listen<Connection>({
      unix: this.socketPath,
      socket: {
        open: (socket) => {
          socket.data = { buffered: "", handled: false };
        },
        data: (socket, chunk) => this.received(socket, chunk.toString()),
        // A plugin killed while it waited: its operation (if any) already ran to completion.
        error: () => {},
      },
    });
    // The state directory is root's (0700) already; the socket is too.
    chmodSync(this.socketPath, 0o600);
    this.log.info("serving the CNI plugin's operations", { socket: this.socketPath });
  }

  stop(): void {
    this.listener?.stop(true);
    this.listener = undefined;
    this.states.closeAll();
    rmSync(this.socketPath, { force: true });
  }

  private received(socket: Socket<Connection>, chunk: string): void {
    const conn = socket.data;
    if (conn.handled) return;
    conn.buffered += chunk;
    const nl = conn.buffered.indexOf("\n");
    if (nl < 0) {
      if (conn.buffered.length > MAX_REQUEST_BYTES) socket.end();
      return;
    }
    conn.handled = true;
    const reply = (message: RelayReply) => socket.write(encodeLine(message));
    const request = parseRequest(conn.buffered.slice(0, nl));
    conn.buffered = "";
    const decline = typeof request === "string" ? request : declineReason(request);
    const command = typeof request === "string" ? "unknown" : commandLabel(request.env.CNI_COMMAND);
    if (typeof request === "string" || decline !== undefined) {
      this.m.operations.inc({ command, result: "declined" });
      const reason = decline ?? "invalid request";
      // Once per reason: an agent that cannot serve this node's plugins would say it for every pod.
      if (!this.declined.has(reason) && this.declined.size < 100) {
        this.declined.add(reason);
        this.log.warn("declined a plugin operation; the plugin does it itself", { reason });
      }
      reply({ v: PROTOCOL_VERSION, declined: reason });
      socket.end();
      return;
    }
    // Written before the work starts: from here on, silence means the agent died during it.
    reply({ v: PROTOCOL_VERSION, accepted: true });
    this.log.debug("serving a plugin operation", { command, container: request.env.CNI_CONTAINERID });
    const started = performance.now();
    const out = runPlugin(request.kind, request.env, request.stdin, this.states);
    this.m.seconds.observe({ command }, (performance.now() - started) / 1000);
    this.m.operations.inc({ command, result: out.exitCode === 0 ? "ok" : "error" });
    if (out.exitCode !== 0)
      this.log.warn("plugin operation failed", {
        command,
        container: request.env.CNI_CONTAINERID,
        error: out.stdout,
      });
    reply({ v: PROTOCOL_VERSION, exitCode: out.exitCode, stdout: out.stdout });
    socket.end();
  }
}
