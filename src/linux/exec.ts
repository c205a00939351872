/**
 * The one place podnet starts other programs. Always argv arrays, never shell strings, so no
 * value (interface name, address, path) can be interpreted by a shell.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface RunOptions {
  /** Text written to the child's stdin. */
  readonly stdin?: string;
  /** Extra environment; the child otherwise inherits ours. */
  readonly env?: Record<string, string | undefined>;
  /** Replace the environment entirely instead of extending it. */
  readonly replaceEnv?: boolean;
  readonly cwd?: string;
  /** Kill the child after this many milliseconds. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly argv: readonly string[];
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    const text = stderr.trim().split("\n").slice(-3).join("; ");
    super(`Command "${argv.join(" ")}" failed with exit code ${code}: ${text || "(no output)"}`);
  }
}

// Plugins are executed by runtimes with minimal environments, sometimes without PATH; the
// system tools podnet needs (ip, nsenter, nft, conntrack) live in these directories on Debian.
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const resolved = new Map<string, string>();

function resolveProgram(program: string): string {
  if (program.includes("/")) return program;
  const cached = resolved.get(program);
  if (cached) return cached;
  const found = Bun.which(program, { PATH: `${process.env.PATH ?? ""}:${SYSTEM_PATH}` });
  if (!found) throw new Error(`Cannot run "${program}": not found in PATH or ${SYSTEM_PATH}`);
  resolved.set(program, found);
  return found;
}

function argvFor(argv: readonly string[]): string[] {
  if (argv.length === 0) throw new Error("Cannot run an empty command");
  const [program, ...rest] = argv;
  return [resolveProgram(program as string), ...rest];
}

function buildEnv(opts: RunOptions): Record<string, string> {
  const base: Record<string, string | undefined> = opts.replaceEnv ? {} : { ...process.env };
  const merged = { ...base, ...(opts.env ?? {}) };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) out[k] = v;
  return out;
}

/** Runs a program to completion synchronously (the plugin's hot path: no event loop turns). */
export function runSync(argv: readonly string[], opts: RunOptions = {}): RunResult {
  const proc = Bun.spawnSync(argvFor(argv), {
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: buildEnv(opts),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
  });
  return {
    argv,
    code: proc.exitCode ?? (proc.signalCode ? 128 : 1),
    stdout: proc.stdout ? proc.stdout.toString() : "",
    stderr: proc.stderr ? proc.stderr.toString() : "",
  };
}

/** Like runSync but throws CommandError on a non-zero exit. */
export function mustRunSync(argv: readonly string[], opts: RunOptions = {}): RunResult {
  const r = runSync(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr || r.stdout);
  return r;
}

/** Runs a program asynchronously, for callers that run many at once (lab, benchmarks). */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const proc = Bun.spawn(argvFor(argv), {
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: buildEnv(opts),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
  });
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  const code = await proc.exited;
  return { argv, code, stdout, stderr };
}

/** Runs a program with our terminal (stdin/stdout/stderr inherited); returns its exit code. */
export async function runInteractive(argv: readonly string[]): Promise<number> {
  const proc = Bun.spawn(argvFor(argv), { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  return await proc.exited;
}

/**
 * Starts a long-running program that outlives us (an echo server in a lab pod): its own session,
 * output appended to `logPath`. Returns its pid.
 */
export function spawnDetached(argv: readonly string[], logPath: string): number {
  const out = openSync(logPath, "a");
  try {
    const child = spawn(argvFor(argv)[0] as string, argv.slice(1), {
      detached: true,
      stdio: ["ignore", out, out],
    });
    if (child.pid === undefined) throw new Error(`Cannot start "${argv.join(" ")}"`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}
