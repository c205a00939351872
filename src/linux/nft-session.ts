/**
 * One long-lived `nft -i` child that applies transactions one line at a time: a new nft per
 * transaction costs its start and a cache fill of the table (12 ms with an empty transaction
 * through `ip netns exec`, nft's own start about 5 ms of it, measured by bench/proxy), a running
 * one applies a small transaction in about 1.5 ms. The wire protocol and its reasons are in nft-session-protocol.ts.
 *
 * nft refetches its cache when the kernel's generation id changed, so a table replaced by another
 * process (a full sync through `nft -f`) is seen by the next transaction here.
 */
import { errorText } from "../base/error-text.ts";
import { randomSuffix } from "./netns.ts";
import { readReply, refusalReason, sentinelToken, sessionLine } from "./nft-session-protocol.ts";

/** nft ran the transaction and refused it; the session is still usable. */
export class NftSessionRefusedError extends Error {
  override readonly name = "NftSessionRefusedError";
  constructor(readonly reason: string) {
    super(`nft -i refused the transaction: ${reason}`);
  }
}

/** The session could not run the transaction (not started, died, no answer in time, closed). */
export class NftSessionError extends Error {
  override readonly name: string = "NftSessionError";
}

/** nft could not be started at all (not installed): nothing was sent. */
export class NftSessionStartError extends NftSessionError {
  override readonly name = "NftSessionStartError";
}

/** The transaction cannot be written as one line (nft-session-protocol.ts sessionLine). */
export class NftSessionUnsupportedError extends Error {
  override readonly name = "NftSessionUnsupportedError";
}

export interface NftSessionOptions {
  /** argv run before nft, e.g. `["ip", "netns", "exec", NS]` in tests; empty for the agent. */
  readonly prefix?: readonly string[];
  /** A transaction without an answer within this time kills the child and rejects. */
  readonly timeoutMs?: number;
  /**
   * The child is replaced after this many transactions: its memory grows with the text it was
   * given, about 2 KiB per KiB (measured: 5.6 MiB after 500 one-endpoint transactions, 9.8 MiB
   * after 5,000), consistent with every line staying in its libedit history. A new nft costs one process start.
   */
  readonly maxTransactions?: number;
  /** Likewise after this many bytes of transaction text. */
  readonly maxBytes?: number;
  /**
   * Longer transactions are refused (NftSessionUnsupportedError): nft -i reads a byte per system
   * call, and `nft -f` was faster from 8–14 KiB on (measured on a loaded machine, issue 14).
   */
  readonly maxLineBytes?: number;
}

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function resolve(program: string): string {
  if (program.includes("/")) return program;
  const found = Bun.which(program, { PATH: `${process.env.PATH ?? ""}:${SYSTEM_PATH}` });
  if (!found)
    throw new NftSessionStartError(`Cannot start "nft -i": "${program}" not found in PATH or ${SYSTEM_PATH}`);
  return found;
}

interface Pending {
  readonly token: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

interface Child {
  readonly proc: Bun.Subprocess<"pipe", "ignore", "pipe">;
  exited: Promise<void>;
  buffer: string;
  pending: Pending | undefined;
  transactions: number;
  bytes: number;
  /** Set once it exited (or was told to): no transaction may be sent to it any more. */
  gone: boolean;
  /** Whether it answered its first sentinel: one that exits before that cannot run as a session. */
  proven: boolean;
}

export class NftSession {
  private child: Child | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private sequence = 0;
  private readonly id = randomSuffix(6);
  private readonly prefix: readonly string[];
  private readonly timeoutMs: number;
  private readonly maxTransactions: number;
  private readonly maxBytes: number;
  private readonly maxLineBytes: number;

  constructor(options: NftSessionOptions = {}) {
    this.prefix = options.prefix ?? [];
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxTransactions = options.maxTransactions ?? 1_000;
    this.maxBytes = options.maxBytes ?? 2 * 1024 * 1024;
    this.maxLineBytes = options.maxLineBytes ?? 8 * 1024;
  }

  /** The running child's pid (for tests and diagnosis), undefined when none runs. */
  get pid(): number | undefined {
    return this.child?.gone === false ? this.child.proc.pid : undefined;
  }

  /**
   * Applies one transaction (commands one a line) as one batch: all of it or nothing. Rejects with
   * NftSessionRefusedError when nft refused it, NftSessionUnsupportedError when it cannot be one
   * line, NftSessionError when nft could not be run or did not answer. One at a time, in order.
   */
  apply(text: string): Promise<void> {
    if (this.closed)
      return Promise.reject(new NftSessionError("Cannot apply a transaction: the nft -i session is closed"));
    const converted = sessionLine(text, this.maxLineBytes);
    if ("unsupported" in converted)
      return Promise.reject(
        new NftSessionUnsupportedError(`Cannot send the transaction to nft -i: ${converted.unsupported}`),
      );
    const run = this.queue.then(() => this.send(converted.line));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Starts the child now (it is otherwise started by the first transaction). */
  async start(): Promise<void> {
    if (this.closed) throw new NftSessionError("Cannot start: the nft -i session is closed");
    const run = this.queue.then(async () => {
      await this.ready();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Takes no more transactions, waits for those already queued, then ends the child. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const child = this.child;
    this.child = undefined;
    if (child !== undefined) await this.stop(child);
  }

  private async send(line: string): Promise<void> {
    if (line === "") return;
    let child = await this.ready();
    if (child.transactions >= this.maxTransactions || child.bytes >= this.maxBytes) {
      this.child = undefined;
      await this.stop(child);
      child = await this.ready();
    }
    child.transactions++;
    child.bytes += line.length;
    await this.exchange(child, `${line}\n`);
  }

  /**
   * The running child, or a new one that has answered a sentinel alone: an nft that cannot run
   * as a session (built without its interactive mode) exits before answering, and then no
   * transaction has gone to it — the caller may send it to `nft -f` without applying it twice.
   */
  private async ready(): Promise<Child> {
    const child = this.ensureChild();
    if (!child.proven) {
      await this.exchange(child, "");
      child.proven = true;
    }
    return child;
  }

  /** Writes `input` and a sentinel, and waits for nft's answer up to the sentinel. */
  private async exchange(child: Child, input: string): Promise<void> {
    const token = sentinelToken(this.id, ++this.sequence);
    const answered = new Promise<void>((resolve, reject) => {
      child.pending = { token, resolve, reject };
    });
    const timer = setTimeout(() => {
      this.fail(child, new NftSessionError(`nft -i gave no answer within ${this.timeoutMs} ms; killed it`));
      child.proc.kill("SIGKILL");
    }, this.timeoutMs);
    try {
      child.proc.stdin.write(`${input}${token}\n`);
      await child.proc.stdin.flush();
    } catch {
      // A pipe closed under us: the child is gone and its exit handler rejects `answered`.
    }
    try {
      await answered;
    } finally {
      clearTimeout(timer);
    }
  }

  private ensureChild(): Child {
    if (this.child !== undefined && !this.child.gone) return this.child;
    const argv = [...this.prefix, "nft", "-i"];
    const [program, ...args] = argv as [string, ...string[]];
    let proc: Child["proc"];
    try {
      proc = Bun.spawn([resolve(program), ...args], {
        stdin: "pipe",
        stdout: "ignore",
        stderr: "pipe",
        // nft -i writes its input history to $HOME/.nft.history at exit: a path that cannot hold
        // a file keeps transactions out of root's home.
        env: { ...process.env, HOME: "/dev/null" },
      });
    } catch (e) {
      if (e instanceof NftSessionStartError) throw e;
      throw new NftSessionStartError(`Cannot start "${argv.join(" ")}": ${errorText(e)}`);
    }
    const child: Child = {
      proc,
      exited: Promise.resolve(),
      buffer: "",
      pending: undefined,
      transactions: 0,
      bytes: 0,
      gone: false,
      proven: false,
    };
    const reading = this.read(child);
    child.exited = proc.exited.then(async (code) => {
      await reading.catch(() => undefined);
      const tail = refusalReason(child.buffer);
      const why = `nft -i exited with code ${code}${tail ? `: ${tail}` : ""}`;
      // An nft built without its interactive mode exits at once: that is "cannot start", so the
      // caller uses `nft -f` instead of replacing the table in full.
      this.fail(child, child.proven ? new NftSessionError(why) : new NftSessionStartError(why));
    });
    this.child = child;
    return child;
  }

  private async read(child: Child): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of child.proc.stderr) {
      child.buffer += decoder.decode(chunk, { stream: true });
      const pending = child.pending;
      if (pending === undefined) continue;
      const reply = readReply(child.buffer, pending.token);
      if (!reply.complete) continue;
      child.buffer = reply.rest;
      child.pending = undefined;
      // Any output at all counts as a refusal (also a warning): the proxy then replaces the
      // table in full, which is right whatever nft did.
      if (reply.output === "") pending.resolve();
      else pending.reject(new NftSessionRefusedError(refusalReason(reply.output)));
    }
  }

  /** The child cannot be trusted any more: reject what it owes and never use it again. */
  private fail(child: Child, error: Error): void {
    child.gone = true;
    if (this.child === child) this.child = undefined;
    const pending = child.pending;
    child.pending = undefined;
    pending?.reject(error);
  }

  private async stop(child: Child): Promise<void> {
    child.gone = true;
    try {
      child.proc.stdin.end();
    } catch {
      // already closed: the child is exiting
    }
    // End of input ends nft -i; SIGKILL if it does not (a hung child must not outlive us).
    const timer = setTimeout(() => child.proc.kill("SIGKILL"), 5_000);
    await child.exited;
    clearTimeout(timer);
  }
}
