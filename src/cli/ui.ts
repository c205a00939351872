/**
 * `podnet ui --datastore SPEC [--listen ADDR:PORT] [--token T]`: a live map of the cluster in the
 * browser (ui/ui-server.ts), with explain and trace on it. Listens on 127.0.0.1:7474 by default;
 * on any other than a loopback address every API request needs the token (the one given, or a
 * random one), which the printed URL carries. Runs until SIGINT/SIGTERM.
 *
 * Exit codes: 0 after a signal, 1 when it cannot start (datastore unreachable, no cluster, the
 * port taken), 2 for a malformed command line.
 */
import { untilSignal } from "../daemon/until-signal.ts";
import { parseListenAddress } from "../ui/listen-address.ts";
import { startUiServer, UI_DEFAULT_HOSTNAME, UI_DEFAULT_PORT } from "../ui/ui-server.ts";
import { assertKnownFlags, flag, type ParsedArgs, UsageError } from "./args.ts";
import { CONSOLE_IO, type DiagnosisCommandIO } from "./explain.ts";

export const UI_USAGE = `podnet ui --datastore SPEC [--listen ADDR:PORT] [--token T]  (default ${UI_DEFAULT_HOSTNAME}:${UI_DEFAULT_PORT})`;
export const UI_SWITCHES = ["help"];

export async function uiCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
  io: DiagnosisCommandIO = CONSOLE_IO,
  stopped: () => Promise<unknown> = untilSignal,
): Promise<number> {
  const args = parse(argv);
  if (args.flags.has("help") || argv[0] === "help") {
    io.out(`usage: ${UI_USAGE}`);
    return 0;
  }
  assertKnownFlags(args, ["datastore", "listen", "token"]);
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
  const token = flag(args, "token");
  const server = await startUiServer({
    datastore,
    hostname: listen.hostname,
    port: listen.port,
    ...(token !== undefined ? { token } : {}),
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
