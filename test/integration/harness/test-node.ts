/**
 * Shared harness for the root-only integration tests: a "node" namespace the plugin runs in, pod
 * namespaces handed to it as CNI_NETNS, a temporary CNI bin dir and state dir — all named
 * `pntest-<random>-...` and all removed after the test, also when it fails (as a last resort
 * when the process exits, or by the next run if this one was killed). Nothing here touches the
 * machine's own namespace: the plugin only ever runs through `ip netns exec <node>`.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { ConflistOptions } from "../../src/cni/conflist.ts";
import { renderConflist } from "../../src/cni/conflist.ts";
import type { AttachmentSpec, Conflist, JsonObject } from "../../src/lab/cni-runtime.ts";
import { CniRuntime } from "../../src/lab/cni-runtime.ts";
import type { EchoProbe } from "../../src/lab/echo-server.ts";
import { mustRunSync, run } from "../../src/linux/exec.ts";
import { createNetns, deleteNetns, inNetns, randomSuffix } from "../../src/linux/netns.ts";
import type { Allocation } from "../../src/plugin/ipam-state.ts";
import { IpamState } from "../../src/plugin/ipam-state.ts";
import { disposeOnExit, OWNER_FILE, sweepStaleRuns, teardownRun } from "./leftovers.ts";
import { ensurePodnetBuilt, PODNET } from "./podnet-build.ts";

export * from "./kernel-state.ts";
export { ensurePodnetBuilt, PODNET, REPO } from "./podnet-build.ts";

/** Debian's containernetworking-plugins (bridge, host-local, tuning, portmap...). */
export const REFERENCE_PLUGINS = "/usr/lib/cni";
export const NETWORK = "pntest";
export const ECHO_PORT = 8080;

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error("integration tests create network namespaces and must run as root");
  }
}

export interface RawRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The one JSON document on stdout (throws if stdout holds anything else). */
export function stdoutJson(r: RawRun): Record<string, unknown> {
  const value: unknown = JSON.parse(r.stdout);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`stdout is not one JSON object: ${r.stdout}`);
  }
  return value as Record<string, unknown>;
}

export interface TestPod {
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly containerId: string;
  readonly ifname: string;
}

export interface TestNodeOptions {
  /** Pod namespaces created up front. */
  readonly pods?: number;
}

/** One simulated node: its namespace, pod namespaces, bin dir and state dir. */
export class TestNode {
  readonly id = randomSuffix(6);
  readonly prefix = `pntest-${this.id}`;
  readonly netns = `${this.prefix}-node`;
  readonly dir: string;
  readonly binDir: string;
  /** dataDir of podnet-ipam (SQLite state). */
  readonly stateDir: string;
  readonly binDirs: readonly string[];
  readonly pods: TestPod[] = [];
  private readonly namespaces: string[] = [];
  private readonly children = new Set<Subprocess>();
  private podCounter = 0;
  private disposed = false;
  private readonly forgetExitHook: () => void;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    this.binDir = `${this.dir}/bin`;
    this.stateDir = `${this.dir}/state`;
    this.binDirs = [this.binDir, REFERENCE_PLUGINS];
    // Everything disposal does is synchronous, so it also works inside an exit handler.
    this.forgetExitHook = disposeOnExit(() => this.dispose({ quiet: true }));
  }

  static create(options: TestNodeOptions = {}): TestNode {
    requireRoot();
    const exe = ensurePodnetBuilt();
    sweepStaleRuns();
    const node = new TestNode();
    try {
      writeFileSync(`${node.dir}/${OWNER_FILE}`, String(process.pid));
      mustRunSync([exe, "install-cni", "--bin-dir", node.binDir]);
      node.track(node.netns);
      createNetns(node.netns);
      for (let i = 0; i < (options.pods ?? 0); i++) node.addPod();
      return node;
    } catch (e) {
      node.dispose({ quiet: true });
      throw e;
    }
  }

  private track(ns: string): void {
    this.namespaces.push(ns);
  }

  /** Creates one more pod namespace. */
  addPod(): TestPod {
    const n = this.podCounter++;
    const netns = `${this.prefix}-p${n}`;
    this.track(netns);
    const netnsPath = createNetns(netns);
    const pod = { name: `p${n}`, netns, netnsPath, containerId: `${this.prefix}-c${n}`, ifname: "eth0" };
    this.pods.push(pod);
    return pod;
  }

  pod(i: number): TestPod {
    const p = this.pods[i];
    if (!p) throw new Error(`test node ${this.prefix} has no pod #${i}`);
    return p;
  }

  /** Removes a pod's namespace (as a runtime does when the sandbox dies). */
  deletePodNetns(pod: TestPod): void {
    deleteNetns(pod.netns);
  }

  /** A podnet conflist for this node, state under its stateDir. */
  conflist(options: Partial<ConflistOptions> = {}): Conflist {
    const rendered = renderConflist({
      name: NETWORK,
      subnets: ["10.99.0.0/24"],
      mode: "bridge",
      dataDir: this.stateDir,
      ...options,
    });
    return rendered;
  }

  /** A conflist of one plugin config. */
  single(cniVersion: string, plugin: JsonObject, name = NETWORK): Conflist {
    return { cniVersion, name, plugins: [plugin] };
  }

  runtime(conflist: Conflist): CniRuntime {
    return new CniRuntime(conflist, { binDirs: this.binDirs, nodeNetns: this.netns, timeoutMs: 60_000 });
  }

  attachment(pod: TestPod, extra: Partial<AttachmentSpec> = {}): AttachmentSpec {
    return {
      containerId: pod.containerId,
      ifname: pod.ifname,
      netnsPath: pod.netnsPath,
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: pod.name },
      ...extra,
    };
  }

  /** Runs a plugin in the node namespace with exactly `env` (plus PATH) and `stdin`. */
  async execRaw(type: string, env: Record<string, string>, stdin: string): Promise<RawRun> {
    const path = type.startsWith("/") ? type : `${this.binDir}/${type}`;
    const r = await run(inNetns(this.netns, [path]), {
      stdin,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
      replaceEnv: true,
      timeoutMs: 60_000,
    });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  /** What podnet-ipam holds for `network`, read from its state database. */
  allocations(network = NETWORK, stateDir = this.stateDir): Allocation[] {
    const state = IpamState.open(stateDir);
    try {
      return state.list(network);
    } finally {
      state.close();
    }
  }

  /** Starts the lab echo server inside a pod; it is killed on dispose (and with its namespace). */
  async startEcho(pod: TestPod, port = ECHO_PORT): Promise<void> {
    const child = Bun.spawn(
      inNetns(pod.netns, [PODNET, "lab", "echo-server", "--pod", pod.name, "--port", String(port)]),
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    this.children.add(child);
    const reader = child.stdout.getReader();
    const deadline = Date.now() + 10_000;
    let seen = "";
    while (!seen.includes("listening")) {
      const next = await Promise.race([
        reader.read(),
        Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined),
      ]);
      if (next === undefined || next.done) {
        throw new Error(
          `echo server in ${pod.netns} did not start: ${seen}${await new Response(child.stderr).text()}`,
        );
      }
      seen += new TextDecoder().decode(next.value);
    }
    reader.releaseLock();
  }

  /** Connects from namespace `ns` to an echo server; the reply says who answered and whom it saw. */
  async probe(
    ns: string,
    host: string,
    options: { port?: number; timeoutMs?: number } = {},
  ): Promise<EchoProbe> {
    const port = String(options.port ?? ECHO_PORT);
    const timeout = String(options.timeoutMs ?? 3000);
    const r = await run(
      inNetns(ns, [PODNET, "lab", "echo-client", "--host", host, "--port", port, "--timeout", timeout]),
      {
        timeoutMs: 10_000,
      },
    );
    if (r.code !== 0) throw new Error(`probe from ${ns} to ${host}:${port} failed: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as EchoProbe;
  }

  /**
   * Removes everything this node created: processes, pod namespaces, the node namespace (its
   * bridge, veths and rules go with it) and the temp dir. Keeps going past failures and reports
   * them all, so a failed cleanup fails the test run instead of leaking silently.
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

/** A TestNode shared by the tests of the enclosing describe (created in beforeAll). */
export function useTestNode(options: TestNodeOptions = {}): () => TestNode {
  let node: TestNode | undefined;
  beforeAll(() => {
    node = TestNode.create(options);
  });
  afterAll(() => {
    const n = node;
    node = undefined;
    n?.dispose();
  });
  return () => {
    if (!node) throw new Error("the test node is not set up (beforeAll failed?)");
    return node;
  };
}

/** A fresh TestNode for every test of the enclosing describe (created in beforeEach). */
export function useFreshTestNode(options: TestNodeOptions = {}): () => TestNode {
  let node: TestNode | undefined;
  beforeEach(() => {
    node = TestNode.create(options);
  });
  afterEach(() => {
    const n = node;
    node = undefined;
    n?.dispose();
  });
  return () => {
    if (!node) throw new Error("the test node is not set up (beforeEach failed?)");
    return node;
  };
}

/**
 * Polls `condition` until it holds or `timeoutMs` passes. For kernel work that finishes after
 * the call returns: a deleted namespace's veths are destroyed asynchronously (cleanup_net).
 */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** The CNI error a plugin failure carried (code and message), for assertions. */
export async function cniFailure(
  p: Promise<unknown>,
): Promise<{ code: number | undefined; msg: string; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = (e as { error?: { code?: number; msg?: string; details?: string } }).error;
    return { code: err?.code, msg: err?.msg ?? (e as Error).message, details: err?.details ?? "" };
  }
  throw new Error("expected the plugin to fail, but it succeeded");
}
