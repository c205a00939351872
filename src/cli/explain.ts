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
import { EXPLAIN_USAGE, parseExplainArgs } from "./diagnosis-args.ts";
import { diagnosisCommand } from "./diagnosis-command.ts";

// cli/ui.ts still imports these from here.

export const explainCommand = diagnosisCommand({
  usage: EXPLAIN_USAGE,
  options: (args) => {
    const options = parseExplainArgs(args);
    // Before the datastore is opened: a bad address costs nothing (ExplainQueryError, exit 1).
    return { ...options, query: parseExplainQuery(options.target) };
  },
  run: (store, { query, timeoutMs }) => runExplain(store, query, { timeoutMs }),
  render: renderExplanation,
});
