/**
 * iproute2 access. Changes are planned as `ip` command lines (readable, testable, and what an
 * operator would type); they are carried out over rtnetlink in-process when possible (no
 * process start per step: the plugin's ADD latency is mostly process starts otherwise), and
 * through `ip -batch -` when not (PODNET_NETLINK=0, or a form the netlink executor does not know).
 * Queries for CHECK, GC and the lab use `ip -json`.
 */

import { unhandled } from "../base/unhandled.ts";
import { CommandError, runSync } from "./exec.ts";
import type { IpOp } from "./netlink/ip-op.ts";
import { parseIpCommand } from "./netlink/ip-op.ts";
import { getLinkByIndex, getLinkByName, RtnlExecutor } from "./netlink/rtnl-ops.ts";
import { NetlinkError, netlinkAvailable, RtnlSocket, SocketUnavailableError } from "./netlink/socket.ts";

/** One `ip` command line as tokens, e.g. ["link", "set", "eth0", "up"]. */
export type IpCommand = readonly string[];

// A batch line is split on whitespace by iproute2, so every token must be a single word. Values
// reaching here are already validated (interface names, addresses, MACs); this is the last guard.
const SAFE_TOKEN = /^[A-Za-z0-9_.:/%@+=,-]+$/;

export function renderBatch(commands: readonly IpCommand[]): string {
  return commands
    .map((cmd) => {
      for (const token of cmd) {
        if (!SAFE_TOKEN.test(token))
          throw new Error(`Unsafe token in ip command "${cmd.join(" ")}": "${token}"`);
      }
      return cmd.join(" ");
    })
    .join("\n")
    .concat("\n");
}

/** Where a command runs: the current network namespace, or the one at a netns path. */
export type NetnsTarget = { readonly kind: "current" } | { readonly kind: "path"; readonly path: string };

export const CURRENT_NETNS: NetnsTarget = { kind: "current" };

export function netnsAt(path: string): NetnsTarget {
  return { kind: "path", path };
}

function ipArgv(target: NetnsTarget, args: readonly string[]): string[] {
  switch (target.kind) {
    case "current":
      return ["ip", ...args];
    case "path":
      // `ip -n` only understands names under /run/netns; runtimes hand us arbitrary paths
      // (/proc/PID/ns/net), which nsenter opens directly.
      return ["nsenter", `--net=${target.path}`, "--", "ip", ...args];
    default: {
      unhandled(target, (shown) => new Error(`unknown netns target ${shown}`));
    }
  }
}

export class IpBatchError extends CommandError {
  constructor(
    argv: readonly string[],
    code: number,
    stderr: string,
    /** Zero-based index of the command that failed, when iproute2 reported it. */
    readonly failedIndex: number | undefined,
    readonly failedCommand: IpCommand | undefined,
  ) {
    super(argv, code, stderr);
    // "ip -batch - failed" says nothing; the command that failed and the kernel's reason do.
    if (failedCommand !== undefined) {
      const netns = argv.find((a) => a.startsWith("--net="))?.slice("--net=".length);
      const reason = stderr
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !/^Command failed /.test(l))
        .join("; ");
      const where = netns ? ` in network namespace "${netns}"` : "";
      this.message = `Command "ip ${failedCommand.join(" ")}"${where} failed: ${reason || `exit code ${code}`}`;
    }
  }

  /** True when the kernel said the object already exists (EEXIST). */
  get exists(): boolean {
    return /File exists/.test(this.stderr);
  }

  get notFound(): boolean {
    return /Cannot find device|No such device|does not exist|No such process/.test(this.stderr);
  }
}

let currentSocket: RtnlSocket | undefined;
const pathSockets = new Map<string, RtnlSocket>();

/**
 * Runs `fn` with a netlink socket in the target namespace. Sockets are kept for the life of the
 * process (an ADD talks to the pod's namespace twice) until closeNetlinkSockets(): a socket holds
 * its namespace alive, so long-running callers must close them.
 */
function withSocket<T>(target: NetnsTarget, fn: (sock: RtnlSocket) => T): T {
  if (target.kind === "current") {
    currentSocket ??= RtnlSocket.open();
    return fn(currentSocket);
  }
  let sock = pathSockets.get(target.path);
  if (!sock) {
    sock = RtnlSocket.open(target.path);
    pathSockets.set(target.path, sock);
  }
  return fn(sock);
}

export function closeNetlinkSockets(): void {
  for (const sock of pathSockets.values()) sock.close();
  pathSockets.clear();
  currentSocket?.close();
  currentSocket = undefined;
}

function netlinkBatch(commands: readonly IpCommand[], ops: readonly IpOp[], target: NetnsTarget): void {
  // Described like the `ip -batch` equivalent, so errors read the same whichever path ran.
  const argv = target.kind === "path" ? ["ip", `--net=${target.path}`, "-batch", "-"] : ["ip", "-batch", "-"];
  withSocket(target, (sock) => {
    const exec = new RtnlExecutor(sock);
    ops.forEach((op, i) => {
      try {
        exec.apply(op);
      } catch (e) {
        if (!(e instanceof NetlinkError)) throw e;
        const stderr =
          e.errno === 19 && e.message.startsWith("Cannot find device")
            ? e.message
            : `RTNETLINK answers: ${e.message.slice(e.message.lastIndexOf(": ") + 2)}`;
        throw new IpBatchError(argv, 2, stderr, i, commands[i]);
      }
    });
  });
}

/** Runs commands in order and stops at the first failing one (over netlink, or `ip -batch`). */
export function ipBatch(commands: readonly IpCommand[], target: NetnsTarget = CURRENT_NETNS): void {
  if (commands.length === 0) return;
  const text = renderBatch(commands); // validates every token, whichever path runs them
  if (netlinkAvailable()) {
    const ops = commands.map(parseIpCommand);
    if (ops.every((o): o is IpOp => o !== undefined)) {
      try {
        netlinkBatch(commands, ops, target);
        return;
      } catch (e) {
        // Nothing was applied when no socket could be had: `ip` may still be allowed to.
        if (!(e instanceof SocketUnavailableError)) throw e;
      }
    }
  }
  const argv = ipArgv(target, ["-batch", "-"]);
  const r = runSync(argv, { stdin: text });
  if (r.code === 0) return;
  const m = /Command failed -:(\d+)/.exec(r.stderr);
  const index = m?.[1] ? Number(m[1]) - 1 : undefined;
  throw new IpBatchError(argv, r.code, r.stderr, index, index === undefined ? undefined : commands[index]);
}

/** Runs one `ip` command; returns false instead of throwing when the object does not exist. */
export function ipTry(command: IpCommand, target: NetnsTarget = CURRENT_NETNS): boolean {
  try {
    ipBatch([command], target);
    return true;
  } catch (e) {
    if (e instanceof IpBatchError && e.notFound) return false;
    throw e;
  }
}

/** Runs `ip -json ARGS` and parses the output (an empty output is an empty list). */
export function ipJson<T>(args: readonly string[], target: NetnsTarget = CURRENT_NETNS): T[] {
  const argv = ipArgv(target, ["-json", ...args]);
  const r = runSync(argv);
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr);
  const text = r.stdout.trim();
  if (text === "") return [];
  return JSON.parse(text) as T[];
}

export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly address?: string;
  readonly mtu?: number;
  readonly operstate?: string;
  readonly flags?: readonly string[];
  readonly master?: string;
  readonly ifalias?: string;
  readonly link_netnsid?: number;
  readonly linkinfo?: {
    readonly info_kind?: string;
    readonly info_slave_kind?: string;
    readonly info_slave_data?: Record<string, unknown>;
  };
}

function getLinkNetlink(name: string, target: NetnsTarget): LinkInfo | undefined {
  return withSocket(target, (sock) => {
    const l = getLinkByName(sock, name);
    if (!l) return undefined;
    const master = l.masterIndex !== undefined ? getLinkByIndex(sock, l.masterIndex)?.ifname : undefined;
    return {
      ifindex: l.ifindex,
      ifname: l.ifname,
      flags: l.up ? ["UP"] : [],
      ...(l.address ? { address: l.address } : {}),
      ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
      ...(master ? { master } : {}),
      ...(l.alias ? { ifalias: l.alias } : {}),
      ...(l.kind ? { linkinfo: { info_kind: l.kind } } : {}),
    };
  });
}

/** The link named `name`, or undefined when there is none. */
export function getLink(
  name: string,
  target: NetnsTarget = CURRENT_NETNS,
  details = false,
): LinkInfo | undefined {
  if (netlinkAvailable()) {
    try {
      return getLinkNetlink(name, target);
    } catch (e) {
      if (!(e instanceof SocketUnavailableError)) throw e;
    }
  }
  const argv = ipArgv(target, ["-json", ...(details ? ["-details"] : []), "link", "show", "dev", name]);
  const r = runSync(argv);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return undefined;
    throw new CommandError(argv, r.code, r.stderr);
  }
  return (JSON.parse(r.stdout) as LinkInfo[])[0];
}

export interface AddrInfo {
  readonly family: "inet" | "inet6";
  readonly local: string;
  readonly prefixlen: number;
  readonly scope?: string;
}

export interface LinkAddrs extends LinkInfo {
  readonly addr_info: readonly AddrInfo[];
}

export interface RouteInfo {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly scope?: string;
  readonly protocol?: string;
  readonly prefsrc?: string;
  readonly flags?: readonly string[];
}

/** The link with everything `ip -details` reports (kind-specific data such as a VXLAN's VNI). */
export function getLinkDetails<T extends LinkInfo = LinkInfo>(
  name: string,
  target: NetnsTarget = CURRENT_NETNS,
): T | undefined {
  const argv = ipArgv(target, ["-json", "-details", "link", "show", "dev", name]);
  const r = runSync(argv);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return undefined;
    throw new CommandError(argv, r.code, r.stderr);
  }
  return (JSON.parse(r.stdout) as T[])[0];
}
