/**
 * Real etcd members (Debian's etcd-server, /usr/bin/etcd) for the tests and the lab: one member
 * or a three-member cluster on loopback, on free ports the kernel hands out, with data under a
 * directory the cluster owns and removes on close. Members can be stopped (crashed with SIGKILL)
 * and started again on the same data dir, which is how the fault tests take quorum away.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { isAbsolute, join, normalize } from "node:path";

export const ETCD_BINARY = "/usr/bin/etcd";

export interface EtcdClusterOptions {
  readonly members: 1 | 3;
  /** Absolute path of a directory that does not exist yet or is empty: the cluster owns it. */
  readonly dataRoot: string;
  /** Loopback IPv4 address every member listens on (default 127.0.0.1). */
  readonly host?: string;
  readonly binary?: string;
  /** How long a member may take to report healthy (default 20 s). */
  readonly startTimeoutMs?: number;
}

export interface EtcdMember {
  readonly name: string;
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** "HOST:PORT" of the client listener, as `--datastore etcd://...` names it. */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly logPath: string;
  readonly pid: number | undefined;
  readonly running: boolean;
}

export class EtcdStartError extends Error {
  override readonly name = "EtcdStartError";
  constructor(
    readonly member: string,
    readonly reason: string,
  ) {
    super(`Cannot start etcd member "${member}": ${reason}`);
  }
}

// etcd's well-known ports: a developer may run their own etcd there, so never pick them.
const RESERVED_PORTS = new Set([2379, 2380]);

async function freePorts(host: string, count: number): Promise<number[]> {
  // Hold every listener open until all are bound so the kernel cannot hand out one port twice.
  const servers = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = createServer();
      servers.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => {
          const address = server.address();
          if (address === null || typeof address === "string") reject(new Error("no port bound"));
          else resolve(address.port);
        });
      });
      if (!RESERVED_PORTS.has(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function validateDataRoot(dataRoot: string): string {
  if (!isAbsolute(dataRoot) || dataRoot.includes("\0") || dataRoot.split("/").includes("..")) {
    throw new Error(`Invalid etcd data root "${dataRoot}": must be an absolute path without ".."`);
  }
  const root = normalize(dataRoot);
  if (root === "/") throw new Error(`Invalid etcd data root "${dataRoot}": must not be /`);
  if (existsSync(root) && readdirSync(root).length > 0) {
    throw new Error(
      `Invalid etcd data root "${root}": directory is not empty (the cluster removes it on close)`,
    );
  }
  return root;
}

function validateHost(host: string): string {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host.split(".").some((p) => Number(p) > 255)) {
    throw new Error(`Invalid etcd host "${host}": must be a loopback IPv4 address (127.x.y.z)`);
  }
  return host;
}

function etcdEnv(): Record<string, string> {
  // etcd reads ETCD_* variables as flags; one inherited from the caller's shell would silently
  // change the member's configuration.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("ETCD_")) env[k] = v;
  return env;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Member implements EtcdMember {
  child: ChildProcess | undefined;
  /** Why the process could not be started at all (spawn failed), if it could not. */
  spawnError: Error | undefined;
  exited: Promise<void> = Promise.resolve();
  readonly endpoint: string;
  readonly dataDir: string;
  readonly logPath: string;

  constructor(
    readonly name: string,
    readonly host: string,
    readonly clientPort: number,
    readonly peerPort: number,
    root: string,
  ) {
    this.endpoint = `${host}:${clientPort}`;
    this.dataDir = join(root, `${name}.etcd`);
    this.logPath = join(root, `${name}.log`);
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && this.spawnError === undefined && c.exitCode === null && c.signalCode === null;
  }

  get peerUrl(): string {
    return `http://${this.host}:${this.peerPort}`;
  }

  logTail(): string {
    try {
      return readFileSync(this.logPath, "utf8").trim().split("\n").slice(-5).join("; ");
    } catch {
      return "(no log)";
    }
  }
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** "HOST:PORT" of every member, in member order. */
  readonly endpoints: readonly string[];
  /** The `--datastore` spec naming every member: "etcd://127.0.0.1:P1,...". */
  readonly spec: string;
  /** Starts a stopped member again on its data dir; resolves once it reports healthy. */
  start(member: EtcdMember): Promise<void>;
  /** SIGTERM (a clean shutdown) or SIGKILL (a crash); resolves once the process has exited. */
  stop(member: EtcdMember, signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Kills every member and removes the data root. */
  close(): Promise<void>;
}

class Cluster implements EtcdCluster {
  private closed = false;
  private readonly unregister: () => void;

  constructor(
    readonly members: readonly Member[],
    private readonly root: string,
    private readonly binary: string,
    private readonly token: string,
    private readonly startTimeoutMs: number,
  ) {
    this.unregister = killOnExit(this);
  }

  get endpoints(): readonly string[] {
    return this.members.map((m) => m.endpoint);
  }

  get spec(): string {
    return `etcd://${this.endpoints.join(",")}`;
  }

  private argv(m: Member): string[] {
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    const client = `http://${m.endpoint}`;
    return [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      "--initial-cluster-state=new",
      `--initial-cluster-token=${this.token}`,
      "--logger=zap",
      "--log-level=warn",
      // Without compaction etcd keeps every revision forever; keep a window watches can resume in.
      "--auto-compaction-mode=revision",
      "--auto-compaction-retention=10000",
    ];
  }

  /** Spawns a member without waiting for it to become healthy. */
  spawnMember(m: Member): void {
    if (this.closed) throw new EtcdStartError(m.name, "the cluster is closed");
    if (m.running) return;
    const log = openSync(m.logPath, "a");
    try {
      const child = spawn(this.binary, this.argv(m), { stdio: ["ignore", log, log], env: etcdEnv() });
      m.child = child;
      m.spawnError = undefined;
      m.exited = new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.once("error", (e) => {
          m.spawnError = e;
          resolve();
        });
      });
    } finally {
      closeSync(log);
    }
  }

  async waitHealthy(m: Member): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      if (m.spawnError)
        throw new EtcdStartError(m.name, `cannot run ${this.binary}: ${m.spawnError.message}`);
      if (!m.running) throw new EtcdStartError(m.name, `etcd exited: ${m.logTail()}`);
      try {
        const res = await fetch(`http://${m.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: unknown };
        if (body.health === "true" || body.health === true) return;
      } catch {
        // not listening yet, or no leader elected yet: poll again
      }
      await sleep(100);
    }
    throw new EtcdStartError(m.name, `not healthy after ${this.startTimeoutMs} ms: ${m.logTail()}`);
  }

  async start(member: EtcdMember): Promise<void> {
    const m = this.own(member);
    this.spawnMember(m);
    await this.waitHealthy(m);
  }

  async stop(member: EtcdMember, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const m = this.own(member);
    if (!m.running) return;
    m.child?.kill(signal);
    const killed = await Promise.race([m.exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!killed) {
      m.child?.kill("SIGKILL");
      await m.exited;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.members.map((m) => this.stop(m, "SIGKILL")));
    rmSync(this.root, { recursive: true, force: true });
    this.unregister();
  }

  /** Synchronous last resort when the process exits with the cluster still open. */
  killNow(): void {
    for (const m of this.members) if (m.running) m.child?.kill("SIGKILL");
    rmSync(this.root, { recursive: true, force: true });
  }

  private own(member: EtcdMember): Member {
    const m = this.members.find((x) => x === member || x.name === member.name);
    if (!m) throw new Error(`etcd member "${member.name}" is not part of this cluster`);
    return m;
  }
}

const openClusters = new Set<Cluster>();
let exitHookInstalled = false;

function killOnExit(cluster: Cluster): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Children outlive a parent that dies; an orphaned etcd would hold its ports and data dir.
    process.on("exit", () => {
      for (const c of openClusters) c.killNow();
    });
  }
  openClusters.add(cluster);
  return () => openClusters.delete(cluster);
}

/** Starts every member and resolves once all of them report healthy (a leader is elected). */
export async function startEtcdCluster(options: EtcdClusterOptions): Promise<EtcdCluster> {
  const host = validateHost(options.host ?? "127.0.0.1");
  const root = validateDataRoot(options.dataRoot);
  const binary = options.binary ?? ETCD_BINARY;
  if (!existsSync(binary)) throw new EtcdStartError("m0", `${binary} not found (Debian package etcd-server)`);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const ports = await freePorts(host, options.members * 2);
  const members = Array.from(
    { length: options.members },
    (_, i) => new Member(`m${i}`, host, ports[2 * i] as number, ports[2 * i + 1] as number, root),
  );
  const token = `podnet-${crypto.randomUUID()}`;
  const cluster = new Cluster(members, root, binary, token, options.startTimeoutMs ?? 20_000);
  try {
    for (const m of members) cluster.spawnMember(m);
    await Promise.all(members.map((m) => cluster.waitHealthy(m)));
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}
