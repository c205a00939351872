/** `podnet lab ui`, and `lab ui-serve`, the map server it runs inside node1 (lab with its own etcd). */
import { requireLabState } from "../lab/lab-state.ts";
import { labUi, labUiServe } from "../lab/lab-ui.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";

export async function labUiCommand(args: ParsedArgs): Promise<number> {
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

/** Internal: the map server inside node1 (lab ui with the lab's etcd relays it). */
export async function labUiServeCommand(args: ParsedArgs): Promise<number> {
  const listen = flag(args, "listen");
  if (listen === undefined) throw new UsageError("usage: podnet lab ui-serve --listen 127.0.0.1:PORT");
  return await labUiServe(requireLabState(), listen);
}
