/**
 * `podnet install-cni [--bin-dir DIR]`: install the plugin executable (dist/podnet-cni) as
 * `podnet` and `podnet-ipam`, or this executable when no podnet-cni was built beside it.
 */
import { DEFAULT_CNI_BIN_DIR, installPlugins, PLUGIN_EXECUTABLE, pluginSource } from "../plugin/install.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag } from "./args.ts";

export function installCniCommand(args: ParsedArgs): number {
  assertKnownFlags(args, ["bin-dir"]);
  const source = pluginSource();
  if (!source.lean)
    console.error(
      `podnet: no ${PLUGIN_EXECUTABLE} beside ${source.path}: installing the CLI itself, which works as the plugin but starts slower (scripts/build.sh builds both)`,
    );
  for (const path of installPlugins(flag(args, "bin-dir") ?? DEFAULT_CNI_BIN_DIR, source))
    console.log(`installed ${path}`);
  return 0;
}
