/**
 * What the fact readers share: where a read-only command runs (the current network namespace,
 * or the one at a path through `nsenter --net=PATH`, which opens /proc/PID/ns/net paths as well as
 * /run/netns names) and the typed error for output that is not what the tool documents.
 */
import { CommandError, run } from "./exec.ts";
import { assertNetnsFile } from "./netns.ts";

/** Where a reader runs: undefined = the current network namespace. */
export interface NetnsOption {
  readonly netnsPath?: string;
}

export class KernelOutputError extends Error {
  override readonly name = "KernelOutputError";
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`Cannot read the output of "${command}": ${reason}`);
  }
}

/** Interface names as the kernel takes them (IFNAMSIZ 16 with the NUL; no "/", no whitespace). */
const IFNAME = /^[^\s/:]{1,15}$/;

export class InvalidInterfaceNameError extends Error {
  override readonly name = "InvalidInterfaceNameError";
  constructor(readonly ifname: string) {
    super(`Invalid interface name "${ifname}": 1 to 15 characters, no whitespace, "/" or ":"`);
  }
}

export function validateIfname(name: string): string {
  if (!IFNAME.test(name)) throw new InvalidInterfaceNameError(name);
  return name;
}

/** argv that runs `argv` in the namespace at `netnsPath` (checked to be one), or as is. */
export function argvIn(options: NetnsOption | undefined, argv: readonly string[]): string[] {
  const path = options?.netnsPath;
  if (path === undefined) return [...argv];
  assertNetnsFile(path);
  return ["nsenter", `--net=${path}`, "--", ...argv];
}

/** Runs a read-only command; a non-zero exit throws CommandError unless `accept` says otherwise. */
export async function runRead(
  options: NetnsOption | undefined,
  argv: readonly string[],
  accept: (code: number, stderr: string) => boolean = () => false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = argvIn(options, argv);
  const r = await run(full, { timeoutMs: 30_000 });
  if (r.code !== 0 && (nsenterFailed(r.stderr) || !accept(r.code, r.stderr)))
    throw new CommandError(full, r.code, r.stderr || r.stdout);
  return r;
}

/** nsenter's own failures (the namespace went away) are never the kernel's answer. */
function nsenterFailed(stderr: string): boolean {
  return /^nsenter: /m.test(stderr);
}

/** Parses a JSON document a tool printed; an empty output is `empty`. */
export function parseToolJson(command: string, text: string, empty: unknown): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return empty;
  try {
    return JSON.parse(trimmed);
  } catch (e) {
    throw new KernelOutputError(command, `not JSON (${(e as Error).message})`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function optString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export function optNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}
