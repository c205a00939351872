/**
 * One simulated node for the plugin's integration tests: a "node" namespace the plugin runs in,
 * pod namespaces handed to it as CNI_NETNS, a temporary CNI bin dir and state dir — all owned by
 * a TestRun, so removed after the test also when it fails. Nothing here touches the machine's
 * own namespace: the plugin only ever runs through `ip netns exec <node>`.
 */
import type { Subprocess } from "bun";
import type { ConflistOptions } from "../../../src/cni/conflist.ts";
import { renderConflist } from "../../../src/cni/conflist.ts";
import type { AttachmentSpec, Conflist, JsonObject } from "../../../src/lab/cni-runtime.ts";
import { CniRuntime } from "../../../src/lab/cni-runtime.ts";
import type { EchoProbe } from "../../../src/lab/echo-server.ts";
import { mustRunSync, run } from "../../../src/linux/exec.ts";
import { deleteNetns, inNetns } from "../../../src/linux/netns.ts";
import { type Allocation, NodeState } from "../../../src/node-state/node-state.ts";
import { ensurePodnetBuilt } from "../../../testkit/podnet-build.ts";
import { ECHO_PORT, probeEcho, startEchoServer } from "./echo-pods.ts";
import { TestRun, useDisposable } from "./test-run.ts";

/** Debian's containernetworking-plugins (bridge, host-local, tuning, portmap...). */
export const REFERENCE_PLUGINS = "/usr/lib/cni";
export const NETWORK = "pntest";

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
  private readonly testRun = new TestRun();
  readonly prefix = this.testRun.prefix;
  readonly dir = this.testRun.dir;
  readonly netns = `${this.prefix}-node`;
  readonly binDir = `${this.dir}/bin`;
  /** dataDir of podnet-ipam (SQLite state). */
  readonly stateDir = `${this.dir}/state`;
  readonly binDirs: readonly string[] = [this.binDir, REFERENCE_PLUGINS];
  readonly pods: TestPod[] = [];
  private podCounter = 0;

  private constructor() {}

  static create(options: TestNodeOptions = {}): TestNode {
    const exe = ensurePodnetBuilt();
    const node = new TestNode();
    try {
      mustRunSync([exe, "install-cni", "--bin-dir", node.binDir]);
      node.testRun.createNetns("node");
      for (let i = 0; i < (options.pods ?? 0); i++) node.addPod();
      return node;
    } catch (e) {
      node.dispose({ quiet: true });
      throw e;
    }
  }

  /** Creates one more pod namespace. */
  addPod(): TestPod {
    const n = this.podCounter++;
    const { name: netns, path: netnsPath } = this.testRun.createNetns(`p${n}`);
    const pod = { name: `p${n}`, netns, netnsPath, containerId: `${this.prefix}-c${n}`, ifname: "eth0" };
    this.pods.push(pod);
    return pod;
  }

  pod(i: number): TestPod {
    const p = this.pods[i];
    if (!p) throw new Error(`test node ${this.prefix} has no pod #${i}`);
    return p;
  }

  /** Kills `child` when the node is disposed (a daemon a test runs in the node, such as the agent). */
  adopt<T extends Subprocess>(child: T): T {
    return this.testRun.adopt(child);
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
    const state = NodeState.open(stateDir);
    try {
      return state.list(network);
    } finally {
      state.close();
    }
  }

  /** Starts the lab echo server inside a pod; it is killed on dispose (and with its namespace). */
  async startEcho(pod: TestPod, port = ECHO_PORT): Promise<void> {
    await startEchoServer(this.testRun, pod.netns, pod.name, port);
  }

  /** Connects from namespace `ns` to an echo server; the reply says who answered and whom it saw. */
  probe(ns: string, host: string, options: { port?: number; timeoutMs?: number } = {}): Promise<EchoProbe> {
    return probeEcho(ns, host, options);
  }

  /**
   * Removes everything this node created: processes, pod namespaces, the node namespace (its
   * bridge, veths and rules go with it) and the temp dir. Keeps going past failures and reports
   * them all, so a failed cleanup fails the test run instead of leaking silently.
   */
  dispose(options: { quiet?: boolean } = {}): void {
    this.testRun.dispose(options);
  }
}

/** A TestNode shared by the tests of the enclosing describe (created in beforeAll). */
export function useTestNode(options: TestNodeOptions = {}): () => TestNode {
  return useDisposable("test node", () => TestNode.create(options), "suite");
}

/** A fresh TestNode for every test of the enclosing describe (created in beforeEach). */
export function useFreshTestNode(options: TestNodeOptions = {}): () => TestNode {
  return useDisposable("test node", () => TestNode.create(options), "test");
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
