/**
 * Executes a conflist the way a container runtime (libcni) does: each plugin found in the bin
 * directories, config on stdin with cniVersion/name/runtimeConfig/prevResult inserted, CNI_*
 * variables in the environment; ADD in order, DEL in reverse with the cached result.
 * The lab, the integration tests and the benchmark all attach pods through this.
 */
import { accessSync, constants } from "node:fs";
import type { RunResult } from "../linux/exec.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";

export type JsonObject = Record<string, unknown>;

/**
 * What the runtime executes. Looser than cni/conflist's validated Conflist (any version string):
 * a runtime hands plugins whatever the file says, and the tests rely on that to send bad versions.
 */
export interface Conflist {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly JsonObject[];
}

export interface RuntimeOptions {
  /** Directories searched for plugin binaries, in order (CNI_PATH). */
  readonly binDirs: readonly string[];
  /**
   * The named network namespace (a lab or test node) plugins run in. Required: a plugin run in
   * our own namespace would create its bridge and forwarding settings on this machine.
   */
  readonly nodeNetns: string;
  readonly timeoutMs?: number;
}

export interface AttachmentSpec {
  readonly containerId: string;
  readonly ifname: string;
  readonly netnsPath: string;
  /** CNI_ARGS pairs (K8S_POD_NAMESPACE, K8S_POD_NAME etc.). */
  readonly args?: Readonly<Record<string, string>>;
  /** The pod's labels, inserted as `args.cni.labels` (CNI CONVENTIONS, "args in network config"). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Values for declared capabilities (portMappings, ips, ...), inserted as runtimeConfig. */
  readonly capabilityArgs?: Readonly<JsonObject>;
  /**
   * The pod's readiness check (Kubernetes Probe shape), inserted as `args.podnet.readiness`;
   * podnet's plugin stores it and the node agent runs it.
   */
  readonly readiness?: Readonly<JsonObject>;
}

export class PluginFailedError extends Error {
  override readonly name = "PluginFailedError";
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly exitCode: number,
    readonly error: { code?: number; msg?: string; details?: string } | undefined,
    readonly stderr: string,
  ) {
    super(
      `${plugin} ${command} failed (exit ${exitCode}${error?.code !== undefined ? `, CNI code ${error.code}` : ""}): ${
        error?.msg ?? (stderr.trim() || "no error message")
      }${error?.details ? ` (${error.details})` : ""}`,
    );
  }
}

export interface PluginRun {
  readonly result: RunResult;
  readonly output: unknown;
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** The plugin's `args` with `cni.labels` set, whatever else the file put under `args` kept. */
function withLabels(args: unknown, labels: Readonly<Record<string, string>>): JsonObject {
  const outer = isObject(args) ? args : {};
  const cni = isObject(outer.cni) ? outer.cni : {};
  const list = Object.entries(labels).map(([key, value]) => ({ key, value }));
  return { ...outer, cni: { ...cni, labels: list } };
}

/** The plugin's `args` with `podnet.readiness` set, whatever else is under `args` kept. */
function withReadiness(args: unknown, readiness: Readonly<JsonObject>): JsonObject {
  const outer = isObject(args) ? args : {};
  const podnet = isObject(outer.podnet) ? outer.podnet : {};
  return { ...outer, podnet: { ...podnet, readiness } };
}

/** A plugin's `args` for an attachment: its labels and readiness check added, the file's own kept. */
export function attachmentArgs(args: unknown, a: Pick<AttachmentSpec, "labels" | "readiness">): unknown {
  let out = args;
  if (a.labels !== undefined) out = withLabels(out, a.labels);
  if (a.readiness !== undefined) out = withReadiness(out, a.readiness);
  return out;
}

export class CniRuntime {
  constructor(
    readonly conflist: Conflist,
    readonly options: RuntimeOptions,
  ) {}

  pluginPath(type: string): string {
    // A type names a file in the bin directories, nothing else (as libcni insists).
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type))
      throw new Error(`CNI plugin type "${type}" is not a plain file name`);
    for (const dir of this.options.binDirs) {
      const p = `${dir}/${type}`;
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // keep searching the CNI_PATH
      }
    }
    throw new Error(`CNI plugin "${type}" not found in ${this.options.binDirs.join(":")}`);
  }

  private pluginConfig(
    plugin: JsonObject,
    prevResult: unknown,
    extra: JsonObject,
    a?: AttachmentSpec,
  ): JsonObject {
    const capabilityArgs = a?.capabilityArgs;
    const conf: JsonObject = {
      ...plugin,
      cniVersion: this.conflist.cniVersion,
      name: this.conflist.name,
      ...extra,
    };
    const caps = plugin.capabilities as Record<string, boolean> | undefined;
    if (caps && capabilityArgs) {
      const runtimeConfig: JsonObject = {};
      for (const [k, v] of Object.entries(capabilityArgs)) if (caps[k]) runtimeConfig[k] = v;
      if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    }
    const args = a ? attachmentArgs(plugin.args, a) : plugin.args;
    if (args !== undefined) conf.args = args;
    if (prevResult !== undefined) conf.prevResult = prevResult;
    return conf;
  }

  private env(command: string, a: AttachmentSpec | undefined): Record<string, string> {
    const args = a?.args
      ? Object.entries(a.args)
          .map(([k, v]) => `${k}=${v}`)
          .join(";")
      : "";
    return {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: command,
      CNI_PATH: this.options.binDirs.join(":"),
      ...(a ? { CNI_CONTAINERID: a.containerId, CNI_IFNAME: a.ifname, CNI_NETNS: a.netnsPath } : {}),
      ...(args ? { CNI_ARGS: args } : {}),
    };
  }

  /** Executes one plugin binary once; throws PluginFailedError on a non-zero exit. */
  async exec(type: string, command: string, conf: JsonObject, a?: AttachmentSpec): Promise<PluginRun> {
    const path = this.pluginPath(type);
    const argv = inNetns(this.options.nodeNetns, [path]);
    const result = await run(argv, {
      stdin: JSON.stringify(conf),
      env: this.env(command, a),
      replaceEnv: true,
      timeoutMs: this.options.timeoutMs ?? 60_000,
    });
    const text = result.stdout.trim();
    let output: unknown;
    try {
      output = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new PluginFailedError(
        type,
        command,
        result.code,
        { msg: `printed invalid JSON: ${text.slice(0, 200)}` },
        result.stderr,
      );
    }
    if (result.code !== 0)
      throw new PluginFailedError(
        type,
        command,
        result.code,
        output as PluginFailedError["error"],
        result.stderr,
      );
    return { result, output };
  }

  async add(a: AttachmentSpec): Promise<unknown> {
    let prev: unknown;
    for (const plugin of this.conflist.plugins) {
      const conf = this.pluginConfig(plugin, prev, {}, a);
      prev = (await this.exec(String(plugin.type), "ADD", conf, a)).output;
    }
    return prev;
  }

  /** DEL runs the chain in reverse and, like libcni, goes on past failures; the first is thrown. */
  async del(a: AttachmentSpec, prevResult?: unknown): Promise<void> {
    let first: unknown;
    for (const plugin of [...this.conflist.plugins].reverse()) {
      const conf = this.pluginConfig(plugin, prevResult, {}, a);
      try {
        await this.exec(String(plugin.type), "DEL", conf, a);
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  async check(a: AttachmentSpec, prevResult: unknown): Promise<void> {
    for (const plugin of this.conflist.plugins) {
      await this.exec(String(plugin.type), "CHECK", this.pluginConfig(plugin, prevResult, {}, a), a);
    }
  }

  async gc(valid: readonly { containerId: string; ifname: string }[]): Promise<void> {
    const attachments = valid.map((v) => ({ containerID: v.containerId, ifname: v.ifname }));
    for (const plugin of this.conflist.plugins) {
      await this.exec(
        String(plugin.type),
        "GC",
        this.pluginConfig(plugin, undefined, { "cni.dev/valid-attachments": attachments }),
      );
    }
  }

  async status(): Promise<void> {
    for (const plugin of this.conflist.plugins) {
      await this.exec(String(plugin.type), "STATUS", this.pluginConfig(plugin, undefined, {}));
    }
  }
}
