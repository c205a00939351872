/**
 * The lab commands that run something inside a lab namespace: `exec` in a pod, a node or the
 * external host, `service` and `ipam` in the first node (the lab's datastore, its etcd, is
 * reachable from the nodes, not from here), `metrics` in the node whose agent serves them.
 */
import { findNetns, labCli, requireLabState } from "../lab/lab-state.ts";
import { runInteractive } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { ParsedArgs } from "./args.ts";
import { UsageError } from "./args.ts";

const LAB_SERVICE_SUBCOMMANDS = ["create", "delete", "list", "show"];

export async function labExecCommand(args: ParsedArgs): Promise<number> {
  const [pod] = args.positionals;
  if (!pod || args.rest.length === 0) throw new UsageError("usage: podnet lab exec POD -- CMD [ARG...]");
  return await runInteractive(inNetns(findNetns(requireLabState(), pod), args.rest));
}

/** `podnet service …` run inside the first node: the datastore may be the lab's etcd. */
export async function labServiceCommand(argv: readonly string[]): Promise<number> {
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

export async function labIpamCommand(args: ParsedArgs): Promise<number> {
  const [sub] = args.positionals;
  const state = requireLabState();
  const node = state.nodes[0];
  if ((sub !== "show" && sub !== "check") || !node) throw new UsageError("usage: podnet lab ipam show|check");
  return await runInteractive(
    inNetns(node.netns, [labCli(state), "ipam", sub, "--datastore", state.datastore]),
  );
}

/** The agent serves metrics on its node's own loopback: fetched from inside that namespace. */
export async function labMetricsCommand(args: ParsedArgs): Promise<number> {
  const [node] = args.positionals;
  const state = requireLabState();
  if (!node || !state.nodes.some((n) => n.name === node))
    throw new UsageError("usage: podnet lab metrics NODE");
  return await runInteractive(
    inNetns(findNetns(state, node), [labCli(state), "lab", "http-get", "http://127.0.0.1:9464/metrics"]),
  );
}

/** Internal: what `lab metrics` runs inside the node (loopback URLs only). */
export async function labHttpGetCommand(args: ParsedArgs): Promise<number> {
  const [url] = args.positionals;
  if (!url?.startsWith("http://127.0.0.1:"))
    throw new UsageError("usage: podnet lab http-get http://127.0.0.1:PORT/PATH");
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  process.stdout.write(await res.text());
  return res.ok ? 0 : 1;
}
