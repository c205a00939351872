/**
 * Keeping BIRD out of the host's network namespace: a BIRD there would sync its routing tables
 * with the host's kernel. A namespace is known by the inode of its nsfs file (/proc/PID/ns/net,
 * /run/netns/NAME). The root one is init_net, whose inode is fixed (PROC_NET_INIT_INO,
 * 0xEFFFFFF9, include/linux/proc_ns.h), and PID 1's when we may read it (a container's init, where
 * the container's namespace is the one to protect; some sandboxes deny reading PID 1's).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import { firstControl } from "../base/control-chars.ts";
import { netnsPath } from "./netns.ts";

export class InvalidBirdPathError extends Error {
  override readonly name = "InvalidBirdPathError";
  constructor(
    readonly what: string,
    readonly path: string,
  ) {
    super(
      `Invalid BIRD ${what} path ${JSON.stringify(path)}: must be absolute, without ".." or control characters`,
    );
  }
}

export function validateBirdPath(what: string, path: string): string {
  if (
    !isAbsolute(path) ||
    path.split("/").includes("..") ||
    firstControl(path) !== undefined ||
    /["\s]/.test(path)
  )
    throw new InvalidBirdPathError(what, path);
  return normalize(path);
}

const INIT_NET_INO = 0xeffffff9;

/** The namespace's inode (all nsfs files share one device), undefined when unreadable. */
function nsId(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

function rootNetnsIds(): Set<number> {
  const ids = new Set([INIT_NET_INO]);
  const init = nsId("/proc/1/ns/net");
  if (init !== undefined) ids.add(init);
  return ids;
}

/** Throws unless `netns` (or, for null, our own namespace) exists and is not the root one. */
export function assertNotRootNetns(netns: string | null): void {
  const path = netns === null ? "/proc/self/ns/net" : netnsPath(netns);
  const id = nsId(path);
  if (id === undefined) throw new Error(`network namespace "${path}" does not exist`);
  if (rootNetnsIds().has(id))
    throw new Error(
      netns === null
        ? "this process runs in the root network namespace; BIRD must run in a node's namespace"
        : `namespace "${netns}" is the root network namespace`,
    );
}

function isZombie(pid: string): boolean {
  try {
    // The state follows the command name in parentheses, which may itself hold spaces or ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/**
 * Pids of `bird` processes in the root network namespace, or whose namespace cannot be read (so
 * not proven elsewhere). Tests assert there are none.
 */
export function birdsInRootNetns(): number[] {
  const root = rootNetnsIds();
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "bird") continue;
    } catch {
      continue; // exited meanwhile
    }
    if (isZombie(entry)) continue; // killed, not yet reaped: runs nowhere
    const id = nsId(`/proc/${entry}/ns/net`);
    if ((id === undefined && existsSync(`/proc/${entry}`)) || (id !== undefined && root.has(id)))
      pids.push(Number(entry));
  }
  return pids;
}

// The agent may run with a minimal PATH (started by a supervisor); iproute2 lives in these.
const SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function findProgram(name: string): string {
  for (const dir of SYSTEM_DIRS) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  throw new Error(`Cannot run "${name}": not found in ${SYSTEM_DIRS.join(", ")}`);
}
