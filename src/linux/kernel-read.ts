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

/** A read-only command is killed after this long. */
export const READ_TIMEOUT_MS = 30_000;

export class ReadTimeoutError extends Error {
  override readonly name = "ReadTimeoutError";
  constructor(
    readonly argv: readonly string[],
    readonly timeoutMs: number,
  ) {
    super(`Command "${argv.join(" ")}" timed out after ${timeoutMs / 1000} s and was killed`);
  }
}

/** Runs a read-only command; a non-zero exit throws CommandError unless `accept` says otherwise. */
export async function runRead(
  options: NetnsOption | undefined,
  argv: readonly string[],
  accept: (code: number, stderr: string) => boolean = () => false,
  timeoutMs = READ_TIMEOUT_MS,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = argvIn(options, argv);
  const started = performance.now();
  const r = await run(full, { timeoutMs });
  // Killed by the timeout: say so, rather than "failed with exit code 143".
  if (r.code !== 0 && performance.now() - started >= timeoutMs) throw new ReadTimeoutError(full, timeoutMs);
  if (r.code !== 0 && (nsenterFailed(r.stderr) || !accept(r.code, r.stderr)))
    throw new CommandError(full, r.code, r.stderr || r.stdout);
  return r;
}

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Why a streamed read stopped before the command's end. */
export type StreamStop = "enough" | "bytes";

/**
 * Runs a read-only command and hands its stdout to `onLine` line by line as it arrives, without
 * holding the whole output: `onLine` returns false when it has enough, and the child is killed
 * once `maxBytes` were read. A big listing (conntrack on a busy node) then costs what is read.
 */
export async function streamRead(
  options: NetnsOption | undefined,
  argv: readonly string[],
  onLine: (line: string) => boolean,
  limits: { readonly maxBytes: number; readonly timeoutMs?: number },
): Promise<{ stopped?: StreamStop; bytes: number }> {
  const full = argvIn(options, argv);
  const [program, ...rest] = full;
  const path = Bun.which(program as string, { PATH: `${process.env.PATH ?? ""}:${SYSTEM_PATH}` });
  if (!path) throw new Error(`Cannot run "${program}": not found in PATH or ${SYSTEM_PATH}`);
  const timeoutMs = limits.timeoutMs ?? READ_TIMEOUT_MS;
  const child = Bun.spawn([path, ...rest], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const stderr = new Response(child.stderr).text();
  let stopped: StreamStop | undefined;
  let bytes = 0;
  try {
    const decoder = new TextDecoder();
    let pending = "";
    const reader = child.stdout.getReader();
    read: for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      pending += decoder.decode(value, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines)
        if (!onLine(line)) {
          stopped = "enough";
          break read;
        }
      if (bytes >= limits.maxBytes) {
        stopped = "bytes";
        break;
      }
    }
    if (stopped === undefined) {
      pending += decoder.decode();
      if (pending.trim() !== "" && !onLine(pending)) stopped = "enough";
    } else {
      child.kill("SIGKILL");
      await reader.cancel().catch(() => undefined);
    }
    const code = await child.exited;
    if (timedOut) throw new ReadTimeoutError(full, timeoutMs);
    const err = await stderr;
    if (stopped === undefined && code !== 0) throw new CommandError(full, code, err);
    return { ...(stopped !== undefined ? { stopped } : {}), bytes };
  } finally {
    clearTimeout(timer);
  }
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
