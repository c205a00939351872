/** `podnet lab ...`: build, inspect, prove and remove a cluster made of network namespaces. */

import { readFileSync } from "node:fs";
import type { Backend } from "../cluster/node-record.ts";
import { BACKENDS } from "../cluster/node-record.ts";
import { formatVerdict } from "../lab/claims.ts";
import { parseClusterFile } from "../lab/cluster-file.ts";
import { labCheck } from "../lab/lab-check.ts";
import { labExplain, labTrace } from "../lab/lab-diagnosis.ts";
import { labDown } from "../lab/lab-down.ts";
import { addLabPod, deleteLabPod } from "../lab/lab-pods.ts";
import { listLabServices } from "../lab/lab-services.ts";
import { findNetns, labCli, requireLabState } from "../lab/lab-state.ts";
import { labUi, labUiServe } from "../lab/lab-ui.ts";
import { labUp } from "../lab/lab-up.ts";
import { labTcpPipe } from "../lab/tcp-pipe.ts";
import { MAX_LAB_NODES } from "../lab/topology.ts";
import { runInteractive } from "../linux/exec.ts";
import { closeNetlinkSockets } from "../linux/ip.ts";
import { inNetns } from "../linux/netns.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, parseArgs, UsageError } from "./args.ts";
import { ECHO_CLIENT_SWITCHES, echoClientCommand, echoServerCommand } from "./lab-echo.ts";
import { formatServices, formatStatus } from "./lab-status-table.ts";

export const LAB_USAGE = `usage:
  podnet lab up [--nodes N] [--pods N] [--backend auto|host-gw|vxlan] [--mode bridge|ptp] [--datastore sqlite|etcd] [-f cluster.yaml]
                [--resync-seconds N]
                                                 build the lab: N nodes (default 3) with an agent each,
                                                 N pods per node (default 2); the agents repair drift
                                                 every N seconds (default 5; longer keeps a fault
                                                 you inject by hand, to explain and trace it)
  podnet lab status                              pods with their IP, MAC and interface
  podnet lab check                               prove the IP-per-pod claims with real packets
  podnet lab exec NAME -- CMD [ARG...]           run a command inside a pod, a node or "external"
  podnet lab metrics NODE                        the node agent's Prometheus metrics
  podnet lab ipam show|check                     the cluster's allocations, as seen in its datastore
  podnet lab explain NAME|ADDRESS[:PORT] [--json]
                                                 what an address is and whether every node agrees
                                                 (NAME: a pod, a node, external, echo, no-endpoints)
  podnet lab trace SRC DST[:PORT][/tcp|udp|icmp] [--json] [--no-probe]
                                                 a packet's path, predicted and seen with a real one
  podnet lab pod add NODE NAME [--labels K=V,...]
                                                 attach one more pod on NODE (as lab up does; labels
                                                 default to app=echo, so it joins the demo Service)
  podnet lab pod delete NAME                     detach a pod and remove its namespace
  podnet lab service create|delete|list|show ... podnet service on the lab's datastore (same
                                                 arguments, without --datastore)
  podnet lab ui [--listen ADDR:PORT] [--token T] the live map of the lab in a browser
                                                 (default 127.0.0.1:7474; prints the URL)
  podnet lab down                                remove everything the lab created`;

function intFlag(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} "${text}" must be an integer from ${min} to ${max}`);
  return n;
}

async function up(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["nodes", "pods", "backend", "mode", "datastore", "file", "resync-seconds"]);
  const filePath = flag(args, "file");
  const file = filePath ? parseClusterFile(readFileSync(filePath, "utf8")) : undefined;
  const mode = flag(args, "mode") ?? file?.mode ?? "bridge";
  if (mode !== "bridge" && mode !== "ptp") throw new UsageError(`--mode "${mode}" must be bridge or ptp`);
  const backend = flag(args, "backend") ?? file?.backend ?? "auto";
  if (!BACKENDS.includes(backend as Backend))
    throw new UsageError(`--backend "${backend}" must be one of ${BACKENDS.join(", ")}`);
  const datastore = flag(args, "datastore") ?? file?.datastore ?? "sqlite";
  if (datastore !== "sqlite" && datastore !== "etcd")
    throw new UsageError(`--datastore "${datastore}" must be sqlite or etcd`);
  if (file && flag(args, "nodes") !== undefined)
    throw new UsageError("--nodes and -f cannot be combined: the file lists the nodes");
  const started = performance.now();
  const state = await labUp({
    nodes: intFlag(args, "nodes", 3, 1, MAX_LAB_NODES),
    podsPerNode: intFlag(args, "pods", file?.podsPerNode ?? 2, 1, 26),
    backend: backend as Backend,
    mode,
    datastore,
    resyncSeconds: intFlag(args, "resync-seconds", 5, 1, 3600),
    ...(file ? { topology: file.topology } : {}),
    ...(file?.clusterCidr ? { clusterCidr: file.clusterCidr } : {}),
  });
  console.log(
    `lab ${state.id} is up (${state.nodes.length} nodes, ${state.pods.length} pods, ${backend} backend, ${mode} mode, datastore ${state.datastore}) in ${Math.round(performance.now() - started)} ms\n`,
  );
  console.log(formatStatus(state));
  console.log(`\n${formatServices(await listLabServices(state), state.external.address)}`);
  console.log(
    `\nnext: podnet lab check | podnet lab exec ${state.pods[0]?.name ?? "POD"} -- ip route | podnet lab down`,
  );
  return 0;
}

async function check(): Promise<number> {
  const verdicts = await labCheck(requireLabState());
  for (const v of verdicts) console.log(formatVerdict(v));
  const failed = verdicts.filter((v) => !v.ok).length;
  console.log(
    failed === 0 ? `\nall ${verdicts.length} claims hold` : `\n${failed} of ${verdicts.length} claims failed`,
  );
  return failed === 0 ? 0 : 1;
}

async function down(): Promise<number> {
  const report = await labDown();
  for (const w of report.warnings) console.error(`warning: ${w}`);
  console.log(
    report.namespaces.length
      ? `removed ${report.namespaces.length} namespaces: ${report.namespaces.join(" ")}`
      : "nothing to remove",
  );
  return 0;
}

const LAB_EXPLAIN_USAGE = "usage: podnet lab explain NAME|ADDRESS[:PORT] [--json] [--timeout-ms N]";
const LAB_TRACE_USAGE =
  "usage: podnet lab trace SRC DST[:PORT][/tcp|udp|icmp] [--json] [--no-probe] [--timeout-ms N]";

async function explain(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["json", "timeout-ms"]);
  const [target, ...extra] = args.positionals;
  if (target === undefined || extra.length > 0) throw new UsageError(LAB_EXPLAIN_USAGE);
  const timeoutMs = flag(args, "timeout-ms");
  return await labExplain(requireLabState(), target, {
    json: flag(args, "json") !== undefined,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

async function trace(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["json", "no-probe", "timeout-ms"]);
  const [source, destination, ...extra] = args.positionals;
  if (source === undefined || destination === undefined || extra.length > 0)
    throw new UsageError(LAB_TRACE_USAGE);
  const timeoutMs = flag(args, "timeout-ms");
  return await labTrace(requireLabState(), source, destination, {
    json: flag(args, "json") !== undefined,
    noProbe: flag(args, "no-probe") !== undefined,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

const LAB_POD_USAGE = "usage: podnet lab pod add NODE NAME [--labels K=V,...] | podnet lab pod delete NAME";

async function pod(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["labels"]);
  const [sub, ...names] = args.positionals;
  const state = requireLabState();
  if (sub === "add" && names.length === 2) {
    const [node, name] = names as [string, string];
    const p = await addLabPod(state, node, name, flag(args, "labels"));
    console.log(`pod ${p.name} added on ${p.node} (netns ${p.netns})`);
    return 0;
  }
  if (sub === "delete" && names.length === 1 && flag(args, "labels") === undefined) {
    const p = await deleteLabPod(state, names[0] as string);
    console.log(`pod ${p.name} deleted from ${p.node}`);
    return 0;
  }
  throw new UsageError(LAB_POD_USAGE);
}

const LAB_SERVICE_SUBCOMMANDS = ["create", "delete", "list", "show"];

/** `podnet service …` run inside the first node: the datastore may be the lab's etcd. */
async function service(argv: readonly string[]): Promise<number> {
  const [sub] = argv;
  if (sub === undefined || !LAB_SERVICE_SUBCOMMANDS.includes(sub))
    throw new UsageError(
      "usage: podnet lab service create|delete|list|show ... (as podnet service, without --datastore)",
    );
  if (argv.some((a) => a === "--datastore" || a.startsWith("--datastore=")))
    throw new UsageError("podnet lab service: --datastore is the lab's own; leave it out");
  const state = requireLabState();
  const node = state.nodes[0];
  if (!node) throw new UsageError("podnet lab service: the lab has no node to run podnet service in");
  return await runInteractive(
    inNetns(node.netns, [labCli(state), "service", ...argv, "--datastore", state.datastore]),
  );
}

async function ui(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["listen", "token"]);
  if (args.positionals.length > 0)
    throw new UsageError("usage: podnet lab ui [--listen ADDR:PORT] [--token T]");
  const listen = flag(args, "listen");
  const token = flag(args, "token");
  return await labUi(requireLabState(), {
    ...(listen !== undefined ? { listen } : {}),
    ...(token !== undefined ? { token } : {}),
  });
}

async function exec(args: ParsedArgs): Promise<number> {
  const [pod] = args.positionals;
  if (!pod || args.rest.length === 0) throw new UsageError("usage: podnet lab exec POD -- CMD [ARG...]");
  return await runInteractive(inNetns(findNetns(requireLabState(), pod), args.rest));
}

export async function labCommand(argv: readonly string[]): Promise<number> {
  try {
    // `-f FILE` is the short form of `--file FILE` (as in kubectl and docker compose).
    return await labSubcommand(argv.map((a) => (a === "-f" ? "--file" : a)));
  } finally {
    // Netlink sockets into pod namespaces keep those namespaces alive; release them.
    closeNetlinkSockets();
  }
}

function switchesOf(sub: string | undefined): readonly string[] {
  if (sub === "echo-client") return ECHO_CLIENT_SWITCHES;
  if (sub === "explain" || sub === "trace") return ["json", "no-probe"];
  return [];
}

async function labSubcommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  // Passed through unparsed: podnet service parses its own arguments.
  if (sub === "service") return await service(rest);
  const args = parseArgs(rest, switchesOf(sub));
  switch (sub) {
    case "up":
      return await up(args);
    case "status":
      assertKnownFlags(args, []);
      {
        const state = requireLabState();
        console.log(formatStatus(state));
        console.log(`\n${formatServices(await listLabServices(state), state.external.address)}`);
      }
      return 0;
    case "check":
      assertKnownFlags(args, []);
      return await check();
    case "down":
      assertKnownFlags(args, []);
      return await down();
    case "exec":
      return await exec(args);
    case "explain":
      return await explain(args);
    case "trace":
      return await trace(args);
    case "pod":
      return await pod(args);
    case "ui":
      return await ui(args);
    // Internal: the map server inside node1 and its relay's pipes (lab ui with the lab's etcd).
    case "ui-serve": {
      const listen = flag(args, "listen");
      if (listen === undefined) throw new UsageError("usage: podnet lab ui-serve --listen 127.0.0.1:PORT");
      return await labUiServe(requireLabState(), listen);
    }
    case "tcp-pipe": {
      const [target] = args.positionals;
      if (target === undefined) throw new UsageError("usage: podnet lab tcp-pipe 127.0.0.1:PORT");
      return await labTcpPipe(target);
    }
    // Internal: what runs inside the pods.
    case "echo-server":
      return await echoServerCommand(args);
    case "echo-client":
      return await echoClientCommand(args);
    case "ipam": {
      // Run inside a node: the lab's datastore (its etcd) is reachable from the nodes, not from here.
      const [sub] = args.positionals;
      const state = requireLabState();
      const node = state.nodes[0];
      if ((sub !== "show" && sub !== "check") || !node)
        throw new UsageError("usage: podnet lab ipam show|check");
      return await runInteractive(
        inNetns(node.netns, [labCli(state), "ipam", sub, "--datastore", state.datastore]),
      );
    }
    case "metrics": {
      // The agent serves metrics on its node's own loopback: fetch from inside that namespace.
      const [node] = args.positionals;
      const state = requireLabState();
      if (!node || !state.nodes.some((n) => n.name === node))
        throw new UsageError("usage: podnet lab metrics NODE");
      return await runInteractive(
        inNetns(findNetns(state, node), [labCli(state), "lab", "http-get", "http://127.0.0.1:9464/metrics"]),
      );
    }
    case "http-get": {
      const [url] = args.positionals;
      if (!url?.startsWith("http://127.0.0.1:"))
        throw new UsageError("usage: podnet lab http-get http://127.0.0.1:PORT/PATH");
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      process.stdout.write(await res.text());
      return res.ok ? 0 : 1;
    }
    default:
      throw new UsageError(LAB_USAGE);
  }
}
