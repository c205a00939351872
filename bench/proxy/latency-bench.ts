/**
 * Connection setup through a ClusterIP with a small and a large table, for podnet's ruleset and
 * for the same Services in kube-proxy's iptables layout (iptables-structure.ts).
 *
 * One backend namespace answers on every pod address (a `local` route for the whole pod range on
 * its loopback, accept-server.ts listening on the target port). Each case has its own client
 * namespace, linked to the backend by a veth pair on a /30 of 198.51.100.0/24, its ruleset loaded once:
 * the nat output hook DNATs the ClusterIP and the postrouting hook masquerades, as on a node whose
 * own processes reach a Service. podnet's table is loaded as the agent's full sync loads it, and
 * timed also replacing itself and through plain `nft -f` (full-load.ts); the iptables layout by
 * `nft -f`. The cases then take turns in rounds (order rotated each round), each turn one client
 * process of connect-client.ts inside the case's namespace.
 */
import { run } from "../../src/linux/exec.ts";
import { renderBatch } from "../../src/linux/ip.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { fullSync, planText } from "../../src/proxy/diff.ts";
import { type ProxyInput, renderRuleset } from "../../src/proxy/ruleset.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import type { TargetKind } from "./connection-plan.ts";
import { parseClientResult, roundOrder, shares } from "./connection-plan.ts";
import { measureFullLoad } from "./full-load.ts";
import { renderIptablesStructure } from "./iptables-structure.ts";
import { applyNft } from "./nft-apply.ts";
import { benchInput, POD_CIDR, TARGET_PORT } from "./service-input.ts";

export type Subject = "podnet" | "iptables";
export const SUBJECTS: readonly Subject[] = ["podnet", "iptables"];

export interface LatencyOptions {
  /** Table sizes; the ratio is largest / smallest. */
  readonly sizes: readonly number[];
  readonly endpointsPerService: number;
  /** Measured connections per case, spread over the rounds. */
  readonly connections: number;
  readonly rounds: number;
  /** Unmeasured connections at the start of every client process. */
  readonly warmup: number;
  readonly seed: number;
}

export interface LatencyCase {
  readonly subject: Subject;
  readonly services: number;
  /** The one-transaction `nft -f` text's size (podnet: planText of its full sync). */
  readonly rulesetBytes: number;
  /** podnet: KernelCommands.replaceTable into the empty namespace; iptables: `nft -f`. */
  readonly loadMs: number;
  /** podnet only: replaceTable again, over its live table of the same size. */
  readonly replaceMs?: number;
  /** podnet only: its whole text through `nft -f` into another fresh namespace. */
  readonly nftFileMs?: number;
  readonly connectMs: Readonly<Record<TargetKind, readonly number[]>>;
  readonly firstByteMs: Readonly<Record<TargetKind, readonly number[]>>;
  readonly errors: number;
  readonly wrongEndpoint: number;
  readonly firstErrors: readonly string[];
}

const CLIENT_TIMEOUT_MS = 300_000;
const SERVER_READY_MS = 15_000;
const CLIENT_SCRIPT = `${import.meta.dir}/connect-client.ts`;
const SERVER_SCRIPT = `${import.meta.dir}/accept-server.ts`;

function ipIn(netns: string, commands: readonly (readonly string[])[]): Promise<void> {
  return run(["ip", "-n", netns, "-batch", "-"], { stdin: renderBatch(commands) }).then((r) => {
    if (r.code !== 0) throw new Error(`ip -n ${netns} -batch failed: ${r.stderr.trim()}`);
  });
}

/** Resolves when `stream` has printed `text`; rejects after `timeoutMs` or at its end. */
async function waitForOutput(
  stream: ReadableStream<Uint8Array>,
  text: string,
  timeoutMs: number,
): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A timer, not Bun.sleep: it must be cleared, or it would keep the process alive after the run.
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next === "timeout") throw new Error(`no "${text}" within ${timeoutMs} ms (output: ${seen.trim()})`);
      if (next.done) throw new Error(`exited before printing "${text}" (output: ${seen.trim()})`);
      seen += decoder.decode(next.value, { stream: true });
      if (seen.includes(text)) return;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

type Load = Pick<LatencyCase, "rulesetBytes" | "loadMs" | "replaceMs" | "nftFileMs">;

/** Loads the case's ruleset into `netns` (`k` its number, for a scratch namespace's name). */
async function loadRuleset(
  sandbox: BenchSandbox,
  subject: Subject,
  netns: { readonly name: string; readonly path: string },
  k: number,
  input: ProxyInput,
  progress: (message: string) => void,
): Promise<Load> {
  const size = `${input.services.length} Services`;
  switch (subject) {
    case "podnet": {
      const plan = fullSync(renderRuleset(input));
      const text = planText(plan);
      const rulesetBytes = Buffer.byteLength(text);
      const load = await measureFullLoad(sandbox, netns, plan.content, text, `lf${k}`);
      progress(
        `latency: podnet table with ${size} loaded in ${netns.name} as the agent syncs (${mib(rulesetBytes)} MiB as text; replaceTable ${load.loadMs.toFixed(0)} ms, again over the live table ${load.replaceMs.toFixed(0)} ms, live as "${load.table}"; nft -f into a fresh namespace ${load.nftFileMs.toFixed(0)} ms)`,
      );
      return { rulesetBytes, loadMs: load.loadMs, replaceMs: load.replaceMs, nftFileMs: load.nftFileMs };
    }
    case "iptables": {
      const text = renderIptablesStructure(input).text;
      const loadMs = await applyNft(netns.name, text);
      const rulesetBytes = Buffer.byteLength(text);
      progress(
        `latency: iptables ruleset with ${size} loaded in ${netns.name} (${mib(rulesetBytes)} MiB, nft -f ${loadMs.toFixed(0)} ms)`,
      );
      return { rulesetBytes, loadMs };
    }
    default: {
      const never: never = subject;
      throw new Error(`unknown subject ${String(never)}`);
    }
  }
}

interface MutableCase extends LatencyCase {
  readonly netns: string;
  readonly connectMs: Record<TargetKind, number[]>;
  readonly firstByteMs: Record<TargetKind, number[]>;
  errors: number;
  wrongEndpoint: number;
  readonly firstErrors: string[];
}

export async function measureLatency(
  sandbox: BenchSandbox,
  options: LatencyOptions,
  progress: (message: string) => void,
): Promise<LatencyCase[]> {
  const backend = sandbox.createNetns("lbe").name;
  // Every pod address is local to the backend, so one listener answers for all endpoints.
  await ipIn(backend, [["route", "add", "local", POD_CIDR, "dev", "lo"]]);
  const cases: MutableCase[] = [];
  for (const subject of SUBJECTS)
    for (const services of options.sizes) {
      const k = cases.length;
      const ns = sandbox.createNetns(`lc${k}`);
      const netns = ns.name;
      const client = `198.51.100.${4 * k + 1}`;
      const gateway = `198.51.100.${4 * k + 2}`;
      await ipIn(backend, [
        ["link", "add", "name", `c${k}`, "type", "veth", "peer", "name", "eth0", "netns", netns],
        ["addr", "add", `${gateway}/30`, "dev", `c${k}`],
        ["link", "set", "dev", `c${k}`, "up"],
      ]);
      await ipIn(netns, [
        ["addr", "add", `${client}/30`, "dev", "eth0"],
        ["link", "set", "dev", "eth0", "up"],
        ["route", "add", "default", "via", gateway],
      ]);
      const input = benchInput({
        services,
        endpointsPerService: options.endpointsPerService,
        nodeIP: client,
      });
      const load = await loadRuleset(sandbox, subject, ns, k, input, progress);
      cases.push({
        subject,
        services,
        netns,
        ...load,
        connectMs: { last: [], random: [] },
        firstByteMs: { last: [], random: [] },
        errors: 0,
        wrongEndpoint: 0,
        firstErrors: [],
      });
    }

  const server = sandbox.spawn(
    "accept server",
    inNetns(backend, [process.execPath, SERVER_SCRIPT, String(TARGET_PORT)]),
  );
  const stdout = server.proc.stdout;
  if (!(stdout instanceof ReadableStream)) throw new Error("the accept server's stdout is not a pipe");
  await waitForOutput(stdout, "listening", SERVER_READY_MS).catch((e: Error) => {
    throw new Error(`accept server in ${backend}: ${e.message}`);
  });

  try {
    const perRound = shares(options.connections, options.rounds);
    for (let round = 0; round < options.rounds; round++) {
      for (const c of roundOrder(cases, round)) {
        const seed = options.seed + 1000 * round + cases.indexOf(c);
        const argv = inNetns(c.netns, [
          process.execPath,
          CLIENT_SCRIPT,
          String(c.services),
          String(options.endpointsPerService),
          String(perRound[round] ?? 0),
          String(options.warmup),
          String(seed),
        ]);
        const r = await run(argv, { timeoutMs: CLIENT_TIMEOUT_MS });
        if (r.code !== 0) throw new Error(`client in ${c.netns} exited with ${r.code}: ${r.stderr.trim()}`);
        const result = parseClientResult(r.stdout);
        for (const kind of ["last", "random"] as const) {
          c.connectMs[kind].push(...result.samples[kind].connectMs);
          c.firstByteMs[kind].push(...result.samples[kind].firstByteMs);
        }
        c.errors += result.errors;
        c.wrongEndpoint += result.wrongEndpoint;
        for (const e of result.firstErrors) if (c.firstErrors.length < 5) c.firstErrors.push(e);
      }
      progress(`latency: round ${round + 1}/${options.rounds} done`);
    }
  } finally {
    // The accept server keeps no state worth a graceful stop.
    server.proc.kill("SIGKILL");
    await server.proc.exited;
  }
  return cases.map(({ netns: _netns, ...c }) => c);
}
