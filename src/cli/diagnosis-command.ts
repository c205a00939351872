/**
 * What `podnet explain` and `podnet trace` share: the usage on `--help` (or `help`), the command
 * line checked before the datastore is opened (a malformed one costs no connection), the result
 * printed as JSON with `--json` and as text otherwise, and the datastore closed whatever happens.
 */
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import type { ParsedArgs } from "./args.ts";

export interface DiagnosisCommandIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const CONSOLE_IO: DiagnosisCommandIO = { out: (t) => console.log(t), err: (t) => console.error(t) };

/** True, with the usage printed, when the command line asks for help. */
export function printedUsage(
  argv: readonly string[],
  args: ParsedArgs,
  usage: string,
  io: DiagnosisCommandIO,
): boolean {
  if (!args.flags.has("help") && argv[0] !== "help") return false;
  io.out(`usage: ${usage}`);
  return true;
}

export interface DiagnosisCommand<O extends { readonly datastore: string; readonly json: boolean }, R> {
  readonly usage: string;
  /** The command's options; throws (a usage or a parse error) before the datastore is opened. */
  readonly options: (args: ParsedArgs) => O;
  readonly run: (store: Store, options: O) => Promise<R>;
  readonly render: (result: R) => string;
}

/** The command function of `command`: 0 when it printed its result or its usage; its errors are thrown. */
export function diagnosisCommand<O extends { readonly datastore: string; readonly json: boolean }, R>(
  command: DiagnosisCommand<O, R>,
): (
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
  io?: DiagnosisCommandIO,
) => Promise<number> {
  return async (argv, parse, io = CONSOLE_IO) => {
    const args = parse(argv);
    if (printedUsage(argv, args, command.usage, io)) return 0;
    const options = command.options(args);
    const store = await openStore(options.datastore);
    try {
      const result = await command.run(store, options);
      io.out(options.json ? JSON.stringify(result, null, 2) : command.render(result));
      return 0;
    } finally {
      await store.close();
    }
  };
}
