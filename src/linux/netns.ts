/**
 * Named network namespaces (/run/netns/NAME), used by the lab, the tests and the benchmarks.
 * The plugin itself never creates namespaces: the runtime hands it one by path.
 */
import { existsSync, statfsSync } from "node:fs";
import { CommandError, mustRunSync, runSync } from "./exec.ts";

export const NETNS_DIR = "/run/netns";

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export class InvalidNetnsNameError extends Error {
  override readonly name = "InvalidNetnsNameError";
  constructor(readonly netnsName: string) {
    super(
      `Invalid network namespace name "${netnsName}": use letters, digits, "_", "." and "-" (at most 63)`,
    );
  }
}

export class NetnsMissingError extends Error {
  override readonly name = "NetnsMissingError";
  constructor(readonly netnsPath: string) {
    super(`Network namespace "${netnsPath}" does not exist`);
  }
}

export class NotANetnsError extends Error {
  override readonly name = "NotANetnsError";
  constructor(readonly netnsPath: string) {
    super(`"${netnsPath}" is not a network namespace (not on nsfs)`);
  }
}

/** nsfs, where /proc/PID/ns/* and their bind mounts (/run/netns/NAME) live (linux/magic.h). */
const NSFS_MAGIC = 0x6e736673;

/**
 * Checks that a path handed to us (CNI_NETNS) is a namespace file before anything opens it: a
 * FIFO there would block an open() forever, and a plain file would fail late and obscurely.
 */
export function assertNetnsFile(path: string): void {
  let type: number;
  try {
    type = Number(statfsSync(path).type);
  } catch {
    throw new NetnsMissingError(path);
  }
  if (type !== NSFS_MAGIC) throw new NotANetnsError(path);
}

export function validateNetnsName(name: string): string {
  if (!NETNS_NAME.test(name)) throw new InvalidNetnsNameError(name);
  return name;
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${validateNetnsName(name)}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** Creates a named namespace with its loopback up (as container runtimes do). */
export function createNetns(name: string): string {
  validateNetnsName(name);
  mustRunSync(["ip", "netns", "add", name]);
  try {
    mustRunSync(["ip", "-n", name, "link", "set", "lo", "up"]);
  } catch (e) {
    runSync(["ip", "netns", "del", name]);
    throw e;
  }
  return netnsPath(name);
}

/** Pids of processes living in the namespace. */
export function netnsPids(name: string): number[] {
  validateNetnsName(name);
  const r = runSync(["ip", "netns", "pids", name]);
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** Kills what runs inside, then removes the namespace. Missing namespaces are fine. */
export function deleteNetns(name: string): void {
  validateNetnsName(name);
  if (!netnsExists(name)) return;
  for (const pid of netnsPids(name)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone: the namespace is what we are removing, not the process
    }
  }
  const r = runSync(["ip", "netns", "del", name]);
  if (r.code !== 0 && netnsExists(name)) throw new CommandError(r.argv, r.code, r.stderr);
}

export function listNetns(): string[] {
  const r = runSync(["ip", "-json", "netns", "list"]);
  if (r.code !== 0 || r.stdout.trim() === "") return [];
  return (JSON.parse(r.stdout) as { name: string }[]).map((n) => n.name);
}

/** argv that runs `argv` inside the named namespace. */
export function inNetns(name: string, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", validateNetnsName(name), ...argv];
}

/** A random suffix for names of things a test or the lab creates (so runs never collide). */
export function randomSuffix(length = 6): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}
