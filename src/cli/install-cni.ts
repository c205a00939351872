/** `podnet install-cni [--bin-dir DIR]`: copy this executable in as `podnet` and `podnet-ipam`. */
import { DEFAULT_CNI_BIN_DIR, installPlugins } from "../plugin/install.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag } from "./args.ts";

export function installCniCommand(args: ParsedArgs): number {
  assertKnownFlags(args, ["bin-dir"]);
  for (const path of installPlugins(flag(args, "bin-dir") ?? DEFAULT_CNI_BIN_DIR))
    console.log(`installed ${path}`);
  return 0;
}
