/**
 * `podnet ipam show|check --datastore SPEC [--json]`: what is allocated where across the cluster,
 * and what is wrong with it (duplicates, leaks, blocks without a live node). check exits 1 on
 * any problem.
 */
import { listBlockLeases } from "../cluster/block-leases.ts";
import { readClusterConfig } from "../cluster/cluster-config-store.ts";
import type { IpamView } from "../cluster/ipam-audit.ts";
import { checkIpam, summarizeIpam } from "../cluster/ipam-audit.ts";
import { listIpamReports } from "../cluster/ipam-report.ts";
import { listNodes } from "../cluster/node-registry.ts";
import { openStore } from "../store/open-store.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";
import { renderTable } from "./table.ts";

export const IPAM_USAGE = "podnet ipam show|check --datastore sqlite:PATH|etcd://HOST:PORT[,...] [--json]";

async function loadView(datastore: string): Promise<IpamView> {
  const store = await openStore(datastore);
  try {
    const config = await readClusterConfig(store);
    if (!config) throw new Error(`The datastore ${store.description} holds no cluster config`);
    const [{ leases }, { nodes }, reports] = await Promise.all([
      listBlockLeases(store),
      listNodes(store),
      listIpamReports(store),
    ]);
    return { config, leases, nodes, reports };
  } finally {
    await store.close();
  }
}

const json = (v: unknown) =>
  JSON.stringify(
    v,
    (_k, x) =>
      typeof x === "bigint" ? (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString()) : x,
    2,
  );
const show = (x: bigint | number | undefined) => (x === undefined ? "-" : String(x));

export async function ipamCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(rest);
  assertKnownFlags(args, ["datastore", "json"]);
  const datastore = flag(args, "datastore");
  if (!datastore || (sub !== "show" && sub !== "check")) throw new UsageError(`usage: ${IPAM_USAGE}`);
  const asJson = flag(args, "json") !== undefined;
  const view = await loadView(datastore);
  if (sub === "show") {
    const summary = summarizeIpam(view);
    if (asJson) {
      console.log(json(summary));
      return 0;
    }
    console.log(
      renderTable(
        ["CLUSTER CIDR", "BLOCK", "BLOCKS TOTAL", "USED", "FREE"],
        summary.cidrs.map((c) => [
          c.cidr,
          `/${c.blockLength}`,
          show(c.totalBlocks),
          show(c.usedBlocks),
          show(c.freeBlocks),
        ]),
      ),
    );
    console.log("");
    console.log(
      renderTable(
        ["NODE BLOCK", "NODE", "ALIVE", "ADDRESSES", "USED", "FREE", "LEAKED"],
        summary.blocks.map((b) => [
          b.block,
          b.node,
          b.nodeAlive ? "yes" : "no",
          show(b.total),
          show(b.used),
          show(b.free),
          show(b.orphaned),
        ]),
      ),
    );
    return 0;
  }
  const problems = checkIpam(view);
  if (asJson) console.log(json({ ok: problems.length === 0, problems }));
  else if (problems.length === 0)
    console.log(`ok: ${view.leases.length} blocks, ${view.nodes.length} live nodes, no duplicates or leaks`);
  else for (const p of problems) console.log(`${p.kind}: ${p.message}`);
  return problems.length === 0 ? 0 : 1;
}
