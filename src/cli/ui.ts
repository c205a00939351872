/**
 * `podnet ui --datastore SPEC [--listen ADDR:PORT] [--token T | --token-file PATH]
 * [--router NAME=IP[,IP...]]...`: a live map of the cluster in the browser (ui/ui-server.ts), with
 * explain and trace on it. Listens on 127.0.0.1:7474 by default; on any other than a loopback
 * address every API request needs the token — the one given (`--token`, else `--token-file`'s,
 * else PODNET_UI_TOKEN's), or a random one — which the printed URL carries. `--router` names a
 * router and the addresses it holds, so the map draws it as one router joining its segments.
 * Runs until SIGINT/SIGTERM.
 *
 * Exit codes: 0 after a signal, 1 when it cannot start (datastore unreachable, no cluster, the
 * port taken), 2 for a malformed command line or a token or router that cannot be used.
 */
import { untilSignal } from "../daemon/until-signal.ts";
import { parseListenAddress } from "../ui/listen-address.ts";
import { checkNamedRouters, NamedRouterError, parseNamedRouter } from "../ui/named-router.ts";
import { startUiServer, UI_DEFAULT_HOSTNAME, UI_DEFAULT_PORT } from "../ui/ui-server.ts";
import { givenToken, UI_TOKEN_ENV, UiTokenError } from "../ui/ui-token.ts";
import { assertKnownFlags, flag, flagList, type ParsedArgs, UsageError } from "./args.ts";
import { CONSOLE_IO, type DiagnosisCommandIO } from "./diagnosis-command.ts";

export const UI_USAGE = `podnet ui --datastore SPEC [--listen ADDR:PORT] [--token T | --token-file PATH] [--router NAME=IP[,IP...]]...
  listens on ${UI_DEFAULT_HOSTNAME}:${UI_DEFAULT_PORT} by default; the token may also come from ${UI_TOKEN_ENV}`;
export const UI_SWITCHES = ["help"];

/** The flag's value through `parse`, its error as a usage error naming the flag and showing `usageText`. */
function usage<T>(parse: () => T, usageText = UI_USAGE): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof UiTokenError || e instanceof NamedRouterError)
      throw new UsageError(`${e.message}\nusage: ${usageText}`);
    throw e;
  }
}

/**
 * The token `--token`, `--token-file` or PODNET_UI_TOKEN gives (ui-token.ts's givenToken), or
 * undefined; a bad one is a usage error showing `usageText` (`podnet ui`'s, or `lab ui`'s).
 */
export function tokenArgument(
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>>,
  usageText = UI_USAGE,
): string | undefined {
  const token = flag(args, "token");
  const tokenFile = flag(args, "token-file");
  return usage(
    () =>
      givenToken({
        ...(token !== undefined ? { token } : {}),
        ...(tokenFile !== undefined ? { tokenFile } : {}),
        env,
      }),
    usageText,
  );
}

export async function uiCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
  io: DiagnosisCommandIO = CONSOLE_IO,
  stopped: () => Promise<unknown> = untilSignal,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const args = parse(argv);
  if (args.flags.has("help") || argv[0] === "help") {
    io.out(`usage: ${UI_USAGE}`);
    return 0;
  }
  assertKnownFlags(args, ["datastore", "listen", "token", "token-file", "router"]);
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument "${args.positionals[0]}"\nusage: ${UI_USAGE}`);
  const datastore = flag(args, "datastore");
  if (!datastore) throw new UsageError(`--datastore is required\nusage: ${UI_USAGE}`);
  const listenText = flag(args, "listen");
  let listen = { hostname: UI_DEFAULT_HOSTNAME, port: UI_DEFAULT_PORT };
  if (listenText !== undefined) {
    try {
      listen = parseListenAddress(listenText);
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nusage: ${UI_USAGE}`);
    }
  }
  const token = tokenArgument(args, env);
  const routers = usage(() => checkNamedRouters(flagList(args, "router").map((r) => parseNamedRouter(r))));
  const server = await startUiServer({
    datastore,
    hostname: listen.hostname,
    port: listen.port,
    ...(token !== undefined ? { token } : {}),
    routers,
    log: io.err,
  });
  io.out(`podnet ui: the map of ${datastore} at ${server.url}`);
  if (server.token !== undefined && token === undefined)
    io.out("(listening beyond loopback: every request needs the token in that URL)");
  io.out("stop with Ctrl-C");
  try {
    await stopped();
  } finally {
    await server.stop();
  }
  return 0;
}
