/**
 * `podnet cluster show|add-cidr`: the cluster's address plan in the datastore. add-cidr gives a
 * running cluster another pod range (when the first is running out) without touching any block
 * already leased; agents take new blocks from it once the earlier ranges are full. `cluster bgp`
 * (cluster-bgp.ts) edits how the nodes peer over BGP.
 */
import { extendClusterCidrs, readClusterConfig } from "../cluster/cluster-config-store.ts";
import { clusterConfigToJSON } from "../ipam/cluster-config-json.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { openStore } from "../store/open-store.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";
import { clusterBgpCommand } from "./cluster-bgp.ts";

export const CLUSTER_USAGE =
  "podnet cluster show|add-cidr CIDR|bgp ... --datastore sqlite:PATH|etcd://HOST:PORT[,...] [--json]";

export async function clusterCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
): Promise<number> {
  const [sub, ...rest] = argv;
  // BGP peering has its own record, subcommands and flags (cluster-bgp.ts).
  if (sub === "bgp") return await clusterBgpCommand(rest);
  const args = parse(rest);
  assertKnownFlags(args, ["datastore", "json"]);
  const datastore = flag(args, "datastore");
  if (!datastore) throw new UsageError(`usage: ${CLUSTER_USAGE}`);
  const store = await openStore(datastore);
  try {
    switch (sub) {
      case "show": {
        const config = await readClusterConfig(store);
        if (!config) throw new Error(`The datastore ${store.description} holds no cluster config`);
        if (flag(args, "json") !== undefined)
          console.log(JSON.stringify(clusterConfigToJSON(config), null, 2));
        else {
          console.log(`cluster CIDRs: ${config.clusterCidrs.map(formatPrefix).join(", ")}`);
          console.log(
            `node blocks:   ${Object.entries(config.nodeBlockLength)
              .map(([f, l]) => `${f} /${l}`)
              .join(", ")}`,
          );
          console.log(`service CIDRs: ${config.serviceCidrs.map(formatPrefix).join(", ")}`);
        }
        return 0;
      }
      case "add-cidr": {
        const [cidr] = args.positionals;
        if (!cidr) throw new UsageError(`usage: ${CLUSTER_USAGE}`);
        const next = await extendClusterCidrs(store, cidr);
        console.log(`cluster CIDRs now: ${next.clusterCidrs.map(formatPrefix).join(", ")}`);
        return 0;
      }
      default:
        throw new UsageError(`usage: ${CLUSTER_USAGE}`);
    }
  } finally {
    await store.close();
  }
}
