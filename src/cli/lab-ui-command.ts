/** `podnet lab ui`, and `lab ui-serve`, the map server it runs inside node1 (lab with its own etcd). */
import { requireLabState } from "../lab/lab-state.ts";
import { type LabUiOptions, labUi, labUiServe } from "../lab/lab-ui.ts";
import { UI_TOKEN_ENV } from "../ui/ui-token.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";
import { tokenArgument } from "./ui.ts";

export const LAB_UI_USAGE = `podnet lab ui [--listen ADDR:PORT] [--token T] [--token-file PATH]
  one token at most: --token, --token-file, else ${UI_TOKEN_ENV} (as podnet ui takes it)`;

/** What `lab ui`'s command line (and `env`) ask for; a bad token is a usage error, as `podnet ui`'s. */
export function labUiOptions(
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LabUiOptions {
  assertKnownFlags(args, ["listen", "token", "token-file"]);
  if (args.positionals.length > 0) throw new UsageError(`usage: ${LAB_UI_USAGE}`);
  const listen = flag(args, "listen");
  const token = tokenArgument(args, env, LAB_UI_USAGE);
  return {
    ...(listen !== undefined ? { listen } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

export async function labUiCommand(
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  // The command line first: a usage error needs no lab.
  const options = labUiOptions(args, env);
  return await labUi(requireLabState(), options);
}

/** Internal: the map server inside node1 (lab ui with the lab's etcd relays it). */
export async function labUiServeCommand(args: ParsedArgs): Promise<number> {
  const listen = flag(args, "listen");
  if (listen === undefined) throw new UsageError("usage: podnet lab ui-serve --listen 127.0.0.1:PORT");
  return await labUiServe(requireLabState(), listen);
}
