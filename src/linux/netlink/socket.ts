/**
 * An rtnetlink socket through libc (bun:ffi): the kernel calls `ip` would make, without starting
 * `ip`. A socket stays bound to the network namespace it was created in, so a socket for a pod's
 * namespace is made by entering it for the socket() call only and returning at once. The libc
 * binding and that namespace dance are shared with the nf_tables loader (nft-batch-socket.ts).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Attr, Reply } from "./codec.ts";
import { decodeReplies, encodeMessage } from "./codec.ts";
import {
  AF_NETLINK,
  CLONE_NEWNET,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_REQUEST,
  SOCK_CLOEXEC,
  SOCK_RAW,
} from "./constants.ts";

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  /** Fills `value` (its length is the room given); 0 or -1 as libc. */
  getsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  errno(): number;
}

let libc: Libc | null | undefined;

/** libc through FFI, or null where that is impossible (not Bun, not glibc Linux). */
function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    // Required lazily so that importing this module never fails outside Bun.
    const ffi = require("bun:ffi") as typeof import("bun:ffi");
    const { FFIType: T } = ffi;
    const lib = ffi.dlopen("libc.so.6", {
      socket: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
      setsockopt: { args: [T.i32, T.i32, T.i32, T.ptr, T.u32], returns: T.i32 },
      getsockopt: { args: [T.i32, T.i32, T.i32, T.ptr, T.ptr], returns: T.i32 },
      send: { args: [T.i32, T.ptr, T.u64, T.i32], returns: T.i64 },
      recv: { args: [T.i32, T.ptr, T.u64, T.i32], returns: T.i64 },
      close: { args: [T.i32], returns: T.i32 },
      setns: { args: [T.i32, T.i32], returns: T.i32 },
      __errno_location: { args: [], returns: T.ptr },
    });
    const s = lib.symbols;
    libc = {
      socket: (d, t, p) => s.socket(d, t, p),
      setsockopt: (fd, level, name, value) => s.setsockopt(fd, level, name, ffi.ptr(value), value.length),
      getsockopt: (fd, level, name, value) => {
        const length = Uint32Array.of(value.length); // socklen_t, in and out
        return s.getsockopt(fd, level, name, ffi.ptr(value), ffi.ptr(length));
      },
      send: (fd, buf, len, flags) => Number(s.send(fd, ffi.ptr(buf), len, flags)),
      recv: (fd, buf, len, flags) => Number(s.recv(fd, ffi.ptr(buf), len, flags)),
      close: (fd) => s.close(fd),
      setns: (fd, t) => s.setns(fd, t),
      errno: () => {
        const p = s.__errno_location();
        return p ? ffi.read.i32(p, 0) : 0;
      },
    };
  } catch {
    libc = null;
  }
  return libc;
}

export function netlinkAvailable(): boolean {
  return process.env.PODNET_NETLINK !== "0" && loadLibc() !== null;
}

export class NetlinkError extends Error {
  override readonly name = "NetlinkError";
  constructor(
    readonly errno: number,
    what: string,
  ) {
    super(`${what}: ${strerror(errno)}`);
  }
}

/** No socket could be had (netlink blocked, namespace not enterable): callers fall back to `ip`. */
export class SocketUnavailableError extends NetlinkError {}

/** The kernel's wording, as iproute2 prints it (so callers match the same texts either way). */
export function strerror(errno: number): string {
  const known: Record<number, string> = {
    1: "Operation not permitted",
    2: "No such file or directory",
    3: "No such process",
    7: "Argument list too long",
    11: "Resource temporarily unavailable",
    12: "Cannot allocate memory",
    13: "Permission denied",
    16: "Device or resource busy",
    17: "File exists",
    19: "No such device",
    22: "Invalid argument",
    28: "No space left on device",
    34: "Numerical result out of range",
    75: "Value too large for defined data type",
    90: "Message too long",
    95: "Operation not supported",
    99: "Cannot assign requested address",
    101: "Network is unreachable",
    105: "No buffer space available",
  };
  return known[errno] ?? `errno ${errno}`;
}

/** libc through FFI; throws where there is none (callers that can fall back check netlinkAvailable). */
export function requireLibc(): Libc {
  const lib = loadLibc();
  if (!lib) throw new Error("netlink is not available in this runtime");
  return lib;
}

/**
 * A raw netlink socket of `protocol` (close-on-exec) in our own namespace, or in `netnsPath`'s:
 * entered for the socket() call only, since a socket stays bound to the namespace it was made in.
 * Returns its descriptor; throws SocketUnavailableError when it cannot be had.
 */
export function openNetlinkSocket(lib: Libc, protocol: number, netnsPath?: string): number {
  if (netnsPath === undefined) return rawSocket(lib, protocol);
  const self = openSync("/proc/thread-self/ns/net", "r");
  let target: number | undefined;
  try {
    target = openSync(netnsPath, "r");
    if (lib.setns(target, CLONE_NEWNET) !== 0)
      throw new SocketUnavailableError(lib.errno(), `Cannot enter network namespace "${netnsPath}"`);
    let fd = -1;
    let openError: unknown;
    try {
      fd = rawSocket(lib, protocol);
    } catch (e) {
      openError = e;
    }
    // Staying in the pod's namespace would make every later step of the plugin act there.
    if (lib.setns(self, CLONE_NEWNET) !== 0) {
      // Not an error to handle: every later step (cleanup included) would act inside the
      // pod's namespace. Stop at once.
      writeSync(
        2,
        `podnet: cannot return to the plugin's own network namespace (errno ${lib.errno()}); exiting\n`,
      );
      process.exit(70);
    }
    if (openError !== undefined) throw openError;
    return fd;
  } finally {
    if (target !== undefined) closeSync(target);
    closeSync(self);
  }
}

function rawSocket(lib: Libc, protocol: number): number {
  const fd = lib.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw new SocketUnavailableError(lib.errno(), "Cannot open a netlink socket");
  return fd;
}

export class RtnlSocket {
  private seq = 1;
  private readonly buf = new Uint8Array(65536);

  private constructor(
    private readonly lib: Libc,
    private fd: number,
  ) {}

  /** A socket in our own namespace, or (with `netnsPath`) in that one. */
  static open(netnsPath?: string): RtnlSocket {
    const lib = requireLibc();
    return new RtnlSocket(lib, openNetlinkSocket(lib, NETLINK_ROUTE, netnsPath));
  }

  /**
   * Sends one request and reads until its acknowledgement (or its single reply for a GET).
   * Throws NetlinkError with the kernel's errno.
   */
  request(type: number, flags: number, header: Uint8Array, attrs: readonly Attr[], what: string): Reply[] {
    const seq = this.seq++;
    const msg = encodeMessage(type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, header, attrs);
    if (this.lib.send(this.fd, msg, msg.length, 0) !== msg.length)
      throw new NetlinkError(this.lib.errno(), `${what}: send`);
    const replies: Reply[] = [];
    for (;;) {
      const n = this.lib.recv(this.fd, this.buf, this.buf.length, 0);
      if (n < 0) throw new NetlinkError(this.lib.errno(), `${what}: recv`);
      for (const r of decodeReplies(this.buf.slice(0, n))) {
        if (r.seq !== seq) continue;
        if (r.errno !== undefined) {
          if (r.errno !== 0) throw new NetlinkError(r.errno, what);
          return replies;
        }
        replies.push(r);
      }
    }
  }

  close(): void {
    if (this.fd >= 0) this.lib.close(this.fd);
    this.fd = -1;
  }
}
