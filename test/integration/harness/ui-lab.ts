/**
 * A lab for the browser tests of the map, in a root of its own (PODNET_LAB_ROOT, random): `up`
 * builds it, `serve` starts a `podnet` server (lab ui, or ui on any datastore) and returns the URL it
 * printed, `close` stops every server, takes the lab down and removes the root — and, should the
 * test process die first, disposeOnExit does the same, so no namespace outlives a run.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import type { LabState } from "../../../src/lab/lab-state.ts";
import { type RunResult, runSync } from "../../../src/linux/exec.ts";
import { disposeOnExit } from "../../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../../testkit/podnet-build.ts";

export class UiLabError extends Error {
  override readonly name = "UiLabError";
}

/** A pod's first address (without its prefix length), from the ADD result the lab keeps. */
export function podIPOf(state: LabState, name: string): string {
  const pod = state.pods.find((p) => p.name === name);
  const address = (pod?.result as { ips?: { address: string }[] } | undefined)?.ips?.[0]?.address;
  if (!address) throw new UiLabError(`Cannot find the address of lab pod "${name}": no such pod or no IP`);
  return address.split("/")[0] as string;
}

export function nodeIPOf(state: LabState, name: string): string {
  const node = state.nodes.find((n) => n.name === name);
  if (!node) throw new UiLabError(`Cannot find lab node "${name}": not in the lab`);
  return node.address.split("/")[0] as string;
}

const URL_PATTERN = /https?:\/\/\S+/;

/** Runs `argv` until it prints a URL (within 30 s); keeps draining its output afterwards. */
export async function startPrintingUrl(
  argv: readonly string[],
  env: Record<string, string>,
): Promise<{ child: Subprocess; url: string }> {
  const child = Bun.spawn([...argv], {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = child.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (!URL_PATTERN.test(out)) {
    const chunk = await Promise.race([
      reader.read(),
      Bun.sleep(Math.max(0, deadline - Date.now())).then(() => ({ done: true, value: undefined })),
    ]);
    if (chunk.done || chunk.value === undefined) {
      child.kill("SIGKILL");
      const stderr = await new Response(child.stderr).text().catch(() => "");
      throw new UiLabError(`${argv.join(" ")} printed no URL: ${out.trim()} ${stderr.trim()}`);
    }
    out += new TextDecoder().decode(chunk.value);
  }
  // Keep draining what it prints later, so it never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done) {}
  })().catch(() => {});
  void new Response(child.stderr).text().catch(() => "");
  return { child, url: (URL_PATTERN.exec(out) as RegExpExecArray)[0] };
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopProcess(child: Subprocess): Promise<void> {
  child.kill("SIGTERM");
  const exited = await Promise.race([child.exited, Bun.sleep(5000).then(() => undefined)]);
  if (exited === undefined) child.kill("SIGKILL");
}

export class UiLab {
  readonly root: string;
  private readonly children = new Set<Subprocess>();
  private readonly forgetExitHook: () => void;
  private cached: LabState | undefined;

  constructor(prefix: string) {
    this.root = mkdtempSync(`${tmpdir()}/${prefix}-`);
    this.forgetExitHook = disposeOnExit(() => {
      for (const c of this.children) c.kill("SIGKILL");
      runSync([PODNET, "lab", "down"], { env: { PODNET_LAB_ROOT: this.root } });
      rmSync(this.root, { recursive: true, force: true });
    }, `removing the lab in ${this.root}`);
  }

  run(...args: string[]): RunResult {
    return runSync([PODNET, ...args], { env: { PODNET_LAB_ROOT: this.root }, timeoutMs: 180_000 });
  }

  /** Runs `podnet ARGS` in this lab and returns its stdout; throws naming the command if it fails. */
  must(...args: string[]): string {
    const r = this.run(...args);
    if (r.code !== 0) throw new UiLabError(`podnet ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `lab up ARGS` (builds dist/podnet first when it is older than the sources). */
  up(...args: string[]): LabState {
    ensurePodnetBuilt();
    this.must("lab", "up", ...args);
    return this.state(true);
  }

  state(reread = false): LabState {
    if (reread || this.cached === undefined)
      this.cached = JSON.parse(readFileSync(`${this.root}/state.json`, "utf8")) as LabState;
    return this.cached;
  }

  podIP(name: string): string {
    return podIPOf(this.state(), name);
  }

  nodeIP(name: string): string {
    return nodeIPOf(this.state(), name);
  }

  netns(node: string): string {
    const n = this.state().nodes.find((x) => x.name === node);
    if (!n) throw new UiLabError(`Cannot find lab node "${node}": not in the lab`);
    return n.netns;
  }

  /** Runs `argv` inside a node's namespace; throws naming the command and the node if it fails. */
  inNode(node: string, ...argv: string[]): string {
    const r = runSync(["ip", "netns", "exec", this.netns(node), ...argv]);
    if (r.code !== 0)
      throw new UiLabError(`${argv.join(" ")} on ${node} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts `argv` (default `podnet lab ui` on a free loopback port) in this lab; returns the URL it printed. */
  async serve(argv: readonly string[] = [PODNET, "lab", "ui", "--listen", "127.0.0.1:0"]): Promise<{
    child: Subprocess;
    url: string;
  }> {
    const started = await startPrintingUrl(argv, { PODNET_LAB_ROOT: this.root });
    this.children.add(started.child);
    return started;
  }

  async stop(child: Subprocess): Promise<void> {
    await stopProcess(child);
    this.children.delete(child);
  }

  /** Forgets a child that ended on its own. */
  release(child: Subprocess): void {
    this.children.delete(child);
  }

  /** Stops the servers, takes the lab down and removes its root. */
  async close(): Promise<void> {
    for (const c of [...this.children]) await this.stop(c);
    this.run("lab", "down");
    rmSync(this.root, { recursive: true, force: true });
    this.forgetExitHook();
  }
}
