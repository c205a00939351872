/**
 * What one test node or test cluster owns on the machine: a temp dir and namespaces named
 * `pntest-<random>-...`, and the processes it started. Removed by dispose() after the test, as a
 * last resort when the process exits or is interrupted, or by the next run's sweep if this one
 * was killed (the owner file in the temp dir names the process that owns it).
 */
import { afterAll, afterEach, beforeAll, beforeEach } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createNetns, randomSuffix } from "../../../src/linux/netns.ts";
import { disposeOnExit } from "../../../testkit/dispose-on-exit.ts";
import { OWNER_FILE, sweepStaleRuns, teardownRun } from "./leftovers.ts";

export class TestRun {
  readonly id = randomSuffix(6);
  /** The name prefix of everything this run creates. */
  readonly prefix = `pntest-${this.id}`;
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<Subprocess>();
  private disposed = false;
  private readonly forgetExitHook: () => void;

  /** Fails unless root; removes what killed earlier runs left before creating anything. */
  constructor() {
    if (process.getuid?.() !== 0)
      throw new Error("integration tests create network namespaces and must run as root");
    sweepStaleRuns();
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    // Everything disposal does is synchronous, so it also works inside an exit handler.
    this.forgetExitHook = disposeOnExit(() => this.dispose({ quiet: true }));
    writeFileSync(join(this.dir, OWNER_FILE), String(process.pid));
  }

  /** `${prefix}-${local}`, removed on dispose (tracked before it exists, so a half-made one is too). */
  track(local: string): string {
    const ns = `${this.prefix}-${local}`;
    if (!this.namespaces.includes(ns)) this.namespaces.push(ns);
    return ns;
  }

  /** Creates the namespace `${prefix}-${local}`; returns its name and path. */
  createNetns(local: string): { name: string; path: string } {
    const name = this.track(local);
    return { name, path: createNetns(name) };
  }

  /** Kills `child` on dispose unless it was released. */
  adopt<T extends Subprocess>(child: T): T {
    this.children.add(child);
    return child;
  }

  release(child: Subprocess): void {
    this.children.delete(child);
  }

  /**
   * Kills the processes, removes the namespaces (in reverse: pods before their node) and the temp
   * dir. A failed cleanup throws, so it fails the test run instead of leaking silently (unless
   * `quiet`, for the last-resort exit hook).
   */
  dispose(options: { quiet?: boolean } = {}): void {
    if (this.disposed) return;
    this.disposed = true;
    this.forgetExitHook();
    teardownRun(
      { prefix: this.prefix, dir: this.dir, namespaces: this.namespaces, children: this.children },
      options.quiet,
    );
  }
}

interface Disposable {
  dispose(): void;
}

const HOOKS = {
  suite: { setUp: beforeAll, tearDown: afterAll, name: "beforeAll" },
  test: { setUp: beforeEach, tearDown: afterEach, name: "beforeEach" },
} as const;

/**
 * A `T` for the tests of the enclosing describe: one shared by all of them (`per` "suite":
 * created in beforeAll, disposed in afterAll) or a fresh one for each ("test": beforeEach,
 * afterEach). Returns its getter.
 */
export function useDisposable<T extends Disposable>(
  what: string,
  create: () => T,
  per: "suite" | "test",
): () => T {
  const hooks = HOOKS[per];
  let value: T | undefined;
  hooks.setUp(() => {
    value = create();
  });
  hooks.tearDown(() => {
    const v = value;
    value = undefined;
    v?.dispose();
  });
  return () => {
    if (!value) throw new Error(`the ${what} is not set up (${hooks.name} failed?)`);
    return value;
  };
}
