/**
 * `podnet explain ADDRESS[:PORT] --datastore SPEC [--json] [--timeout-ms N]`: what an address is,
 * who gave it out, and whether every node's kernel agrees. Needs only the datastore: the nodes'
 * kernel facts come from their agents through it (diagnosis/diagnosis-client.ts), and a node that
 * does not answer is named in the output, not an error.
 *
 * Exit codes: 0 when the address was explained (drift found or not — the output says), 1 when it
 * could not be (not an address, datastore unreachable, no cluster), 2 for a malformed command line.
 */
import { parseExplainQuery } from "../diagnosis/explain.ts";
import { renderExplanation } from "../diagnosis/render-explain.ts";
import { runExplain } from "../diagnosis/run-explain.ts";
import { openStore } from "../store/open-store.ts";
import type { ParsedArgs } from "./args.ts";
import { EXPLAIN_USAGE, parseExplainArgs } from "./diagnosis-args.ts";

export interface DiagnosisCommandIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const CONSOLE_IO: DiagnosisCommandIO = { out: (t) => console.log(t), err: (t) => console.error(t) };

export async function explainCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
  io: DiagnosisCommandIO = CONSOLE_IO,
): Promise<number> {
  const args = parse(argv);
  if (args.flags.has("help") || argv[0] === "help") {
    io.out(`usage: ${EXPLAIN_USAGE}`);
    return 0;
  }
  const options = parseExplainArgs(args);
  // Before the datastore is opened: a bad address costs nothing (ExplainQueryError, exit 1).
  const query = parseExplainQuery(options.target);
  const store = await openStore(options.datastore);
  try {
    const explanation = await runExplain(store, query, { timeoutMs: options.timeoutMs });
    io.out(options.json ? JSON.stringify(explanation, null, 2) : renderExplanation(explanation));
    return 0;
  } finally {
    await store.close();
  }
}
