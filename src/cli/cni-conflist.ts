/**
 * `podnet cni conflist --name NAME --subnet CIDR [--subnet CIDR6] [--mode bridge|ptp]`: a
 * standalone conflist, so podnet works with no agent (e.g. for a single-host runtime).
 */
import { renderConflist } from "../cni/conflist.ts";
import type { CniVersion } from "../cni/version.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, flagList, UsageError } from "./args.ts";

export const CONFLIST_USAGE =
  "podnet cni conflist --name NAME --subnet CIDR [--subnet CIDR6] [--mode bridge|ptp] [--bridge NAME] [--mtu N] [--data-dir DIR] [--cni-version V] [--chain portmap,tuning]";

export function cniConflistCommand(args: ParsedArgs): number {
  assertKnownFlags(args, ["name", "subnet", "mode", "bridge", "mtu", "data-dir", "cni-version", "chain"]);
  const name = flag(args, "name");
  const subnets = flagList(args, "subnet");
  if (!name || subnets.length === 0) throw new UsageError(`usage: ${CONFLIST_USAGE}`);
  const mode = flag(args, "mode") ?? "bridge";
  if (mode !== "bridge" && mode !== "ptp") throw new UsageError(`--mode "${mode}" must be bridge or ptp`);
  const mtuText = flag(args, "mtu");
  const mtu = mtuText === undefined ? undefined : Number(mtuText);
  if (mtu !== undefined && !Number.isInteger(mtu))
    throw new UsageError(`--mtu "${mtuText}" must be an integer`);
  const chain = (flag(args, "chain") ?? "")
    .split(",")
    .filter((c) => c !== "")
    .map((c) => {
      if (c !== "portmap" && c !== "tuning")
        throw new UsageError(`--chain "${c}": only portmap and tuning can be chained`);
      return c;
    });
  const bridge = flag(args, "bridge");
  const dataDir = flag(args, "data-dir");
  const cniVersion = flag(args, "cni-version");
  const conflist = renderConflist({
    name,
    subnets,
    mode,
    ...(bridge ? { bridge } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(dataDir ? { dataDir } : {}),
    ...(cniVersion ? { cniVersion: cniVersion as CniVersion } : {}),
    ...(chain.length > 0 ? { chain } : {}),
  });
  console.log(JSON.stringify(conflist, null, 2));
  return 0;
}
