/**
 * `podnet cni conflist --name NAME --subnet CIDR [--subnet CIDR6] [--mode bridge|ptp]`: a
 * standalone conflist, so podnet works with no agent (e.g. for a single-host runtime). Without
 * `--cni-version` it declares 1.0.0 and lists 1.1.0 in `cniVersions` (see renderConflist), which
 * podman 4.x, containerd 1.6 to 2.x and CRI-O all accept; with it, exactly that version.
 */
import { renderConflist } from "../cni/conflist.ts";
import { isSupportedVersion, SUPPORTED_VERSIONS } from "../cni/version.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, flagList, UsageError } from "./args.ts";

export const CONFLIST_USAGE =
  "podnet cni conflist --name NAME --subnet CIDR [--subnet CIDR6] [--mode bridge|ptp] [--bridge NAME] [--mtu N] [--data-dir DIR] [--cni-version V] [--chain portmap,tuning]";

/** `out` receives the conflist text (the tests read it; the CLI prints it). */
export function cniConflistCommand(args: ParsedArgs, out: (text: string) => void = console.log): number {
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
  if (cniVersion !== undefined && !isSupportedVersion(cniVersion))
    throw new UsageError(`--cni-version "${cniVersion}" must be one of ${SUPPORTED_VERSIONS.join(", ")}`);
  const conflist = renderConflist({
    name,
    subnets,
    mode,
    ...(bridge ? { bridge } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(dataDir ? { dataDir } : {}),
    ...(cniVersion !== undefined ? { cniVersion } : {}),
    ...(chain.length > 0 ? { chain } : {}),
  });
  out(JSON.stringify(conflist, null, 2));
  return 0;
}
