/**
 * One diagnosis request's life on the requester's side (cluster/diagnosis-protocol.ts): a lease
 * of DIAGNOSIS_LEASE_TTL_SECONDS kept alive while the session runs, a watch on the request's
 * prefix opened BEFORE the request is put (so no answer can slip between the two), the answers
 * validated as they arrive, and, whatever happens — an error, a timeout, SIGINT or SIGTERM — the
 * lease revoked at the end, which deletes the request and every answer and tells the agents to
 * remove the tracing rules it caused. A requester killed with SIGKILL leaves them for the TTL.
 */
import { hostname } from "node:os";
import { unhandled } from "../base/unhandled.ts";
import type {
  ArmedReport,
  DiagnosisRequest,
  NodeFacts,
  NodeObservation,
  ProbeResult,
} from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_ID, diagnosisKey, diagnosisPrefixes } from "../cluster/diagnosis-protocol.ts";
import {
  InvalidDiagnosisRecordError,
  parseArmedReport,
  parseDiagnosisKey,
  parseNodeFacts,
  parseNodeObservation,
  parseProbeResult,
} from "../cluster/diagnosis-records.ts";
import type { Store, Watch, WatchEvent } from "../store/store.ts";

export const DIAGNOSIS_LEASE_TTL_SECONDS = 10;
export const KEEP_ALIVE_INTERVAL_MS = 3000;

export class DiagnosisSessionError extends Error {
  override readonly name = "DiagnosisSessionError";
}

/** A fresh request id: 16 of [a-z0-9] (DIAGNOSIS_ID), random so concurrent requests never meet. */
export function newDiagnosisId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const id = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
  if (!DIAGNOSIS_ID.test(id)) throw new DiagnosisSessionError(`generated request id "${id}" is malformed`);
  return id;
}

/** What `ps` and the agents' logs say about who asked. */
export function requesterName(command: string): string {
  return `podnet ${command} on ${hostname()} pid ${process.pid}`;
}

export interface SessionOptions {
  /** Overrides for tests. */
  readonly ttlSeconds?: number;
  readonly keepAliveMs?: number;
  /** Handle SIGINT/SIGTERM while the session runs (default true). */
  readonly handleSignals?: boolean;
}

export class DiagnosisSession {
  readonly facts = new Map<string, NodeFacts>();
  readonly armed = new Map<string, ArmedReport>();
  readonly observed = new Map<string, NodeObservation>();
  /** Answers that did not validate, by part ("facts/NODE", "probe"), with "FIELD REASON". */
  readonly rejected = new Map<string, string>();
  probe: ProbeResult | undefined;

  private failure: Error | undefined;
  private waiters: (() => void)[] = [];
  private readonly watches: Watch[] = [];
  private keeper: ReturnType<typeof setInterval> | undefined;
  private leaseId: string | undefined;
  /** The one close in progress or done: every caller (the signal handler too) awaits the same revoke. */
  private closing: Promise<void> | undefined;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];

  private constructor(
    readonly store: Store,
    readonly id: string,
    private readonly options: SessionOptions,
  ) {}

  /** Grants the lease, watches the prefix, puts the request. Close the session in a `finally`. */
  static async start(
    store: Store,
    request: Omit<DiagnosisRequest, "id" | "createdAt">,
    options: SessionOptions = {},
  ): Promise<DiagnosisSession> {
    const session = new DiagnosisSession(store, newDiagnosisId(), options);
    try {
      await session.open({ ...request, id: session.id, createdAt: new Date().toISOString() });
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }

  get lease(): string | undefined {
    return this.leaseId;
  }

  private async open(request: DiagnosisRequest): Promise<void> {
    if (this.options.handleSignals !== false) this.installSignalHandlers();
    const lease = await this.store.grantLease(this.options.ttlSeconds ?? DIAGNOSIS_LEASE_TTL_SECONDS);
    this.leaseId = lease.id;
    this.keeper = setInterval(() => {
      this.store.keepAlive(lease.id).catch((e: unknown) => {
        this.fail(
          new DiagnosisSessionError(
            `Cannot keep diagnosis request ${this.id} alive: ${(e as Error).message}`,
          ),
        );
      });
    }, this.options.keepAliveMs ?? KEEP_ALIVE_INTERVAL_MS);
    // The answers, and the request's own signals (the probe result an agent puts), each under its prefix.
    const { requests, answers } = diagnosisPrefixes(this.id);
    const { revision } = await this.store.list(answers);
    for (const prefix of [answers, requests])
      this.watches.push(
        this.store.watch(prefix, {
          fromRevision: revision + 1,
          onEvents: (events) => this.onEvents(events),
          onError: (e) =>
            this.fail(
              new DiagnosisSessionError(`Lost the watch on diagnosis request ${this.id}: ${e.message}`),
            ),
        }),
      );
    await this.put("request", JSON.stringify(request));
  }

  /** Puts a record of this session (under its lease). */
  async put(part: "request" | "go" | "probe", value: string): Promise<void> {
    if (this.leaseId === undefined) throw new DiagnosisSessionError(`request ${this.id} has no lease`);
    await this.store.put(diagnosisKey(this.id, part), value, { lease: this.leaseId });
  }

  /** Sets the probe result the requester itself obtained (and publishes it for the agents). */
  async putProbe(result: ProbeResult): Promise<void> {
    this.probe = result;
    this.wake();
    await this.put("probe", JSON.stringify(result));
  }

  private onEvents(events: readonly WatchEvent[]): void {
    for (const ev of events) {
      if (ev.type !== "put") continue;
      const named = parseDiagnosisKey(ev.kv.key);
      if (!named || named.id !== this.id) continue;
      const { key, value } = ev.kv;
      try {
        switch (named.part) {
          case "facts":
            this.facts.set(named.node, parseNodeFacts(key, value));
            break;
          case "armed":
            this.armed.set(named.node, parseArmedReport(key, value));
            break;
          case "observed":
            this.observed.set(named.node, parseNodeObservation(key, value));
            break;
          case "probe":
            this.probe ??= parseProbeResult(key, value);
            break;
          case "request":
          case "go":
            break;
          default:
            unhandled(named, (shown) => new DiagnosisSessionError(`unknown diagnosis key part ${shown}`));
        }
      } catch (e) {
        if (!(e instanceof InvalidDiagnosisRecordError)) throw e;
        // The field and why: the client words it as "answered malformed facts: FIELD REASON".
        this.rejected.set(
          "node" in named ? `${named.part}/${named.node}` : named.part,
          `${e.field} ${e.reason}`,
        );
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  /**
   * Waits until `done()` holds (true) or `deadline` (epoch ms) passes (false). Throws when the
   * session failed (lease lost, watch lost, signal).
   */
  async until(done: () => boolean, deadline: number): Promise<boolean> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (done()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  private installSignalHandlers(): void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const handler = () => {
        this.fail(new DiagnosisSessionError(`interrupted by ${signal}`));
        // Revoke first: the agents then remove their tracing rules at once, not after the TTL.
        this.close().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
      };
      process.on(signal, handler);
      this.signalHandlers.push([signal, handler]);
    }
  }

  /**
   * Stops the keep-alive and the watches and revokes the lease (deleting every key of the request).
   * Every call returns the same promise: a second caller (a signal during the final revoke, or the
   * normal unwinding after a signal) waits for the revoke in flight instead of returning at once.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.keeper) clearInterval(this.keeper);
    for (const w of this.watches.splice(0)) w.close();
    try {
      if (this.leaseId !== undefined) await this.store.revoke(this.leaseId);
    } finally {
      // Handlers stay until the revoke is over: a signal meanwhile waits for it (see installSignalHandlers).
      for (const [signal, handler] of this.signalHandlers.splice(0)) process.off(signal, handler);
      this.wake();
    }
  }
}
