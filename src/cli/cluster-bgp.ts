/**
 * `podnet cluster bgp show|set|add-peer|remove-peer`: how the nodes peer over BGP, kept in the
 * datastore (`/podnet/bgp`) and changed by compare-and-swap; running agents follow every change.
 * The password of a peer is read from a file (`--password-file`), never from the command line,
 * where it would stay in the shell's history and in `ps`.
 */
import { readFileSync } from "node:fs";
import type { BgpConfig } from "../cluster/bgp-config.ts";
import { addBgpPeer, changeBgpSettings, removeBgpPeer } from "../cluster/bgp-config-edit.ts";
import { readBgpConfig, updateBgpConfig } from "../cluster/bgp-config-store.ts";
import { listBgpStatusRecords } from "../cluster/bgp-status-records.ts";
import { openStore } from "../store/open-store.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, parseArgs, UsageError } from "./args.ts";
import { BGP_PEER_FLAGS, BGP_SET_FLAGS, peerFromArgs, settingsChangeFromArgs } from "./cluster-bgp-args.ts";
import { bgpConfigDisplayJSON, formatBgpConfig, formatBgpSessions } from "./cluster-bgp-format.ts";

export const CLUSTER_BGP_USAGE = `podnet cluster bgp show --datastore SPEC [--json]   (config and each node's sessions)
  podnet cluster bgp set --datastore SPEC [--as N] [--hold-time S] [--keepalive S]
      [--graceful-restart on|off] [--restart-time S] [--vpc-cidr CIDR]... [--reset-vpc-cidrs]
  podnet cluster bgp add-peer NAME --datastore SPEC --address IP --as N [--local-as N]
      [--password-file F] [--hold-time S] [--segment CIDR | --nodes A,B] [--allow-local-as] [--multihop N]
  podnet cluster bgp remove-peer NAME --datastore SPEC
  (--json on every subcommand: the config as JSON, passwords hidden)`;

const BOOLEAN_FLAGS = ["json", "reset-vpc-cidrs", "allow-local-as"];

type Edit = (current: BgpConfig | undefined) => BgpConfig;

function knownFlags(sub: string | undefined): readonly string[] {
  switch (sub) {
    case "show":
      return [];
    case "set":
      return BGP_SET_FLAGS;
    case "add-peer":
      return BGP_PEER_FLAGS;
    case "remove-peer":
      return [];
    default:
      throw new UsageError(`usage: ${CLUSTER_BGP_USAGE}`);
  }
}

/** The change a subcommand makes, from its flags: checked (and the password file read) before the datastore is opened. */
function editFor(sub: string, args: ParsedArgs, readFile: (path: string) => string): Edit {
  if (sub === "set") {
    const change = settingsChangeFromArgs(args);
    if (args.positionals.length > 0) throw new UsageError("bgp set takes no positional arguments");
    return (current) => changeBgpSettings(current, change);
  }
  if (sub === "add-peer") {
    const peer = peerFromArgs(args, readFile);
    return (current) => addBgpPeer(current, peer);
  }
  const [name, ...extra] = args.positionals;
  if (name === undefined || extra.length > 0) throw new UsageError("bgp remove-peer takes one peer name");
  return (current) => removeBgpPeer(current, name);
}

export async function clusterBgpCommand(
  argv: readonly string[],
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "help" || argv.includes("--help") || argv.includes("-h")) {
    console.log(`usage: ${CLUSTER_BGP_USAGE}`);
    return 0;
  }
  const args = parseArgs(rest, BOOLEAN_FLAGS);
  assertKnownFlags(args, ["datastore", "json", ...knownFlags(sub)]);
  const datastore = flag(args, "datastore");
  if (!datastore) throw new UsageError(`usage: ${CLUSTER_BGP_USAGE}`);
  if (sub === "show" && args.positionals.length > 0) throw new UsageError(`usage: ${CLUSTER_BGP_USAGE}`);
  const edit = sub === "show" ? undefined : editFor(sub ?? "", args, readFile);
  const json = flag(args, "json") !== undefined;
  const store = await openStore(datastore);
  try {
    if (!edit) {
      const config = await readBgpConfig(store);
      const status = await listBgpStatusRecords(store);
      const shown = config ? bgpConfigDisplayJSON(config) : null;
      if (json)
        console.log(
          JSON.stringify({ config: shown, status: status.records, invalid: status.invalid }, null, 2),
        );
      else
        console.log(
          `${formatBgpConfig(config)}\n\n${formatBgpSessions(status.records, status.invalid, new Date())}`,
        );
      return 0;
    }
    const config = await updateBgpConfig(store, edit);
    if (json) console.log(JSON.stringify(bgpConfigDisplayJSON(config), null, 2));
    else {
      const name = args.positionals[0];
      if (sub === "add-peer") console.log(`BGP peer ${name} added.`);
      if (sub === "remove-peer") console.log(`BGP peer ${name} removed.`);
      console.log(formatBgpConfig(config));
    }
    return 0;
  } finally {
    await store.close();
  }
}
