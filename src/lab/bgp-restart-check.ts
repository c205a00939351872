/**
 * The observations behind the BGP claims about changes on a running cluster (verdicts in
 * bgp-restart-claims.ts). Done as an operator would: `podnet cluster bgp set` against the lab's
 * datastore (from a node's namespace, where it is reachable), the agents following the change on
 * their own, one agent stopped with SIGTERM and started again. Seen from the router's BIRD
 * (`show protocols all`) and kernel, the nodes' BIRD processes, and echo probes between pods.
 * Every change is undone (the config put back exactly, checked), also after a failure.
 */
import { errorText } from "../base/error-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import { sameIP } from "../ipnet/address.ts";
import { type BgpSessionFact, parseBgpProtocols } from "../linux/bird-status-parse.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { agentArgv, alive, birdsIn, measure, startAgent, stopAgent } from "./bgp-lab-agents.ts";
import { probeLoop } from "./bgp-probe-loop.ts";
import {
  type AgentRestartObservation,
  type GracefulRestartObservation,
  NOT_RESTARTED,
  neighborRestartTime,
  type PeeringChangeObservation,
  protocolSections,
  type SessionChange,
  sessionNeighbor,
} from "./bgp-restart-claims.ts";
import { routerHas, waitRouterConverged } from "./bgp-router-table.ts";
import { labRouterCommand } from "./lab-router.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { labCli, nodeAddresses } from "./lab-state.ts";
import type { PodView } from "./probe.ts";
import { ipOf } from "./probe.ts";

/** How long a config change may take to reach every session (a re-open is ~1 s, the watch ~0.1 s). */
const APPLY_TIMEOUT_MS = 30_000;

/** `podnet cluster bgp ARGS --datastore …` from inside the first node's namespace; its stdout. */
async function clusterBgp(state: LabState, args: readonly string[]): Promise<string> {
  const node = state.nodes[0] as LabNode;
  const argv = [labCli(state), "cluster", "bgp", ...args, "--datastore", state.datastore];
  const r = await run(inNetns(node.netns, argv), { timeoutMs: 30_000 });
  if (r.code !== 0)
    throw new Error(`podnet cluster bgp ${args.join(" ")} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

interface ShownConfig {
  readonly text: string;
  readonly holdTimeSeconds: number;
  readonly restartTimeSeconds: number;
  readonly gracefulRestart: boolean;
}

/** The cluster's BGP config as `cluster bgp show --json` prints it (passwords hidden). */
async function shownConfig(state: LabState): Promise<ShownConfig> {
  const shown = JSON.parse(await clusterBgp(state, ["show", "--json"])) as {
    config: {
      holdTimeSeconds?: number;
      gracefulRestart?: { enabled?: boolean; restartTimeSeconds?: number };
    } | null;
  };
  if (shown.config === null) throw new Error("the lab's datastore holds no BGP config");
  return {
    text: JSON.stringify(shown.config),
    holdTimeSeconds: shown.config.holdTimeSeconds ?? 90,
    restartTimeSeconds: shown.config.gracefulRestart?.restartTimeSeconds ?? 120,
    gracefulRestart: shown.config.gracefulRestart?.enabled === true,
  };
}

interface RouterView {
  readonly facts: readonly BgpSessionFact[];
  readonly sections: Map<string, string>;
}

async function routerView(state: LabState): Promise<RouterView> {
  const text = await labRouterCommand(state.dir, "show protocols all");
  return { facts: parseBgpProtocols(text), sections: protocolSections(text) };
}

/** The router's established session with the node (by the node's addresses). */
function sessionOf(view: RouterView, node: LabNode): BgpSessionFact | undefined {
  const ips = nodeAddresses(node).map((a) => a.split("/")[0] as string);
  return view.facts.find(
    (f) =>
      f.bgpState === "Established" &&
      f.neighbor !== undefined &&
      ips.some((ip) => sameIP(ip, f.neighbor as string)),
  );
}

/** Waits until every node's router session satisfies `ok`; the time it took, undefined at the deadline. */
async function untilSessions(
  state: LabState,
  ok: (fact: BgpSessionFact, section: string) => boolean,
  timeoutMs = APPLY_TIMEOUT_MS,
): Promise<number | undefined> {
  try {
    const { ms } = await pollUntil(
      "every node's session with the router",
      async () => {
        const view = await routerView(state);
        return state.nodes.every((n) => {
          const s = sessionOf(view, n);
          return s !== undefined && ok(s, view.sections.get(s.protocol) ?? "");
        });
      },
      timeoutMs,
      { intervalMs: 200 },
    );
    return ms;
  } catch {
    return undefined;
  }
}

/** Hold time 9 → 6 s (lower: the negotiated one is the smaller of both sides') and back. */
export async function peeringChangeObservation(state: LabState): Promise<PeeringChangeObservation> {
  const before = await shownConfig(state);
  const holdSet = before.holdTimeSeconds > 6 ? 6 : before.holdTimeSeconds + 3;
  const viewBefore = await routerView(state);
  const birdBefore = new Map(state.nodes.map((n) => [n.name, birdsIn(n.netns)]));
  let appliedMs: number | undefined;
  let sessions: SessionChange[] = [];
  let failure: string | undefined;
  try {
    await clusterBgp(state, ["set", "--hold-time", String(holdSet)]);
    appliedMs = await untilSessions(state, (s) => s.holdTimer?.configured === holdSet);
    const viewAfter = await routerView(state);
    sessions = state.nodes.map((n) => ({
      node: n.name,
      sinceBefore: sessionOf(viewBefore, n)?.since,
      sinceAfter: sessionOf(viewAfter, n)?.since,
      holdAfter: sessionOf(viewAfter, n)?.holdTimer?.configured,
      birdBefore: birdBefore.get(n.name) ?? [],
      birdAfter: birdsIn(n.netns),
      agentRunning: alive(n.agentPid),
    }));
  } catch (e) {
    failure = errorText(e);
  }
  await clusterBgp(state, ["set", "--hold-time", String(before.holdTimeSeconds)]);
  const restored = await shownConfig(state);
  const restoredMs = await untilSessions(state, (s) => s.holdTimer?.configured === before.holdTimeSeconds);
  return {
    holdBefore: before.holdTimeSeconds,
    holdSet,
    sessions,
    appliedMs,
    configBefore: before.text,
    configRestored: restored.text,
    restoredMs,
    ...(failure === undefined ? {} : { failure }),
  };
}

/**
 * Graceful restart on (`cluster bgp set --graceful-restart on`), the sessions re-opened with it;
 * the last node's agent stopped and started while a pod on another segment probes a pod on it;
 * then graceful restart as it was before and the router holding every block.
 */
export async function gracefulRestartObservation(
  state: LabState,
  views: readonly PodView[],
): Promise<GracefulRestartObservation> {
  const node = state.nodes[state.nodes.length - 1] as LabNode;
  const family = views.some((v) => ipOf(v, 4)) ? 4 : 6;
  const to = views.find((v) => v.node === node.name && ipOf(v, family));
  const fromNode = state.nodes.find((n) => n.segment !== node.segment) ?? state.nodes.find((n) => n !== node);
  const from = views.find((v) => v.node === fromNode?.name && ipOf(v, family));
  if (!to || !from) throw new Error(`no pods on ${node.name} and on another node to probe between`);
  const before = await shownConfig(state);
  const restartSeconds = before.restartTimeSeconds;
  const base = {
    node: node.name,
    blocks: node.podCidrs,
    from: from.name,
    to: to.name,
    restartSeconds,
    configBefore: before.text,
  };
  let o: AgentRestartObservation & { negotiated: boolean; failure?: string } = {
    ...NOT_RESTARTED,
    negotiated: false,
  };
  try {
    await clusterBgp(state, ["set", "--graceful-restart", "on"]);
    const negotiated =
      (await untilSessions(state, (_s, section) => neighborRestartTime(section) === restartSeconds)) !==
      undefined;
    o = { ...o, negotiated };
    if (negotiated)
      o = { ...o, ...(await restartUnderProbes(state, node, from, ipOf(to, family) as string, to.name)) };
  } catch (e) {
    o = { ...o, failure: errorText(e) };
  }
  // Back as it was (off in the lab, unless someone turned it on before the check).
  await clusterBgp(state, ["set", "--graceful-restart", before.gracefulRestart ? "on" : "off"]);
  const restoredConfig = await shownConfig(state);
  const back = await untilSessions(state, (_s, section) =>
    before.gracefulRestart
      ? neighborRestartTime(section) === restartSeconds
      : neighborRestartTime(section) === undefined,
  );
  const restored =
    back !== undefined &&
    (await waitRouterConverged(state).then(
      () => true,
      () => false,
    ));
  return { ...base, ...o, configRestored: restoredConfig.text, restored };
}

async function restartUnderProbes(
  state: LabState,
  node: LabNode,
  from: PodView,
  toIp: string,
  to: string,
): Promise<AgentRestartObservation> {
  const argv = agentArgv(node);
  const started = performance.now();
  const probes = probeLoop(state, from, toIp, to, started);
  let blockKept = true;
  let staleSeen = false;
  // The router's view of the node while it restarts: the block kept, graceful restart active.
  const watch = async (): Promise<boolean> => {
    if (!routerHas(state, node.podCidrs)) blockKept = false;
    const view = await routerView(state);
    if (
      [...view.sections.values()].some(
        (s) => /Neighbor graceful restart active/.test(s) && sessionNeighbor(s, nodeAddresses(node)),
      )
    )
      staleSeen = true;
    return false;
  };
  // The probes stop whatever happens: a failed stop or start must not leave them running.
  let stoppedProbes: Awaited<ReturnType<typeof probes.stop>> | undefined;
  try {
    await Bun.sleep(1000);
    const stopped = performance.now();
    const agentStopped = await stopAgent(node);
    const birdStopped = (await measure(() => birdsIn(node.netns).length === 0, 5000)) !== undefined;
    await watch();
    await Bun.sleep(1000);
    await watch();
    const agentStarted = performance.now();
    const downMs = Math.round(agentStarted - stopped);
    await startAgent(state, node, argv);
    let relearnedMs: number | undefined;
    try {
      await pollUntil(
        `the router to re-learn ${node.name}'s blocks`,
        async () => {
          await watch();
          const view = await routerView(state);
          const s = sessionOf(view, node);
          const section = s ? (view.sections.get(s.protocol) ?? "") : "";
          return (
            s !== undefined &&
            !/Neighbor graceful restart active/.test(section) &&
            routerHas(state, node.podCidrs)
          );
        },
        30_000,
        { intervalMs: 100 },
      );
      relearnedMs = Math.round(performance.now() - agentStarted);
    } catch {
      relearnedMs = undefined;
    }
    await Bun.sleep(1000);
    stoppedProbes = await probes.stop();
    return { agentStopped, birdStopped, staleSeen, blockKept, downMs, relearnedMs, ...stoppedProbes };
  } finally {
    if (stoppedProbes === undefined) await probes.stop();
  }
}
