/**
 * `podnet lab dns-query NAME TYPE [--server IP[:PORT]] [--timeout MS]`: one DNS question, asked the
 * way a pod's resolver would (the nameserver of /etc/resolv.conf unless --server is given), and
 * the answer as one JSON line that `lab check` parses. Run inside a pod with `lab exec`.
 */
import { parseQueryType } from "../lab/dns-lookup.ts";
import { dnsQuery, queryFrom } from "../lab/dns-query.ts";
import { findNetns, requireLabState } from "../lab/lab-state.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";

const USAGE = "usage: podnet lab dns-query NAME A|AAAA|SRV|PTR|TXT [--server IP[:PORT]] [--timeout MS]";
/** A name as a query may carry it: up to 253 characters of letters, digits, "-", "_" and dots. */
const QUERY_NAME = /^(?=.{1,254}$)[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

export async function labDnsQueryCommand(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["server", "timeout"]);
  const [name, type, extra] = args.positionals;
  if (name === undefined || type === undefined || extra !== undefined) throw new UsageError(USAGE);
  if (!QUERY_NAME.test(name)) throw new UsageError(`"${name}" is not a domain name`);
  const timeoutText = flag(args, "timeout") ?? "1500";
  const timeoutMs = Number(timeoutText);
  if (!/^[0-9]+$/.test(timeoutText) || timeoutMs < 1 || timeoutMs > 60_000)
    throw new UsageError(`--timeout "${timeoutText}" must be milliseconds from 1 to 60000`);
  let queryType: ReturnType<typeof parseQueryType>;
  try {
    queryType = parseQueryType(type);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const lookup = await dnsQuery(name, queryType, flag(args, "server"), timeoutMs);
  console.log(JSON.stringify(lookup));
  return 0;
}

/** `podnet lab dns POD NAME [TYPE]`: the question asked from inside POD, the answer printed. */
export async function labDnsCommand(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, []);
  const [pod, name, type = "A", extra] = args.positionals;
  if (pod === undefined || name === undefined || extra !== undefined)
    throw new UsageError("usage: podnet lab dns POD NAME [A|AAAA|SRV|PTR|TXT]");
  if (!QUERY_NAME.test(name)) throw new UsageError(`"${name}" is not a domain name`);
  let queryType: ReturnType<typeof parseQueryType>;
  try {
    queryType = parseQueryType(type);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const state = requireLabState();
  const outcome = await queryFrom(state, findNetns(state, pod), name, queryType);
  if (outcome.kind === "error") {
    console.error(`podnet: ${outcome.message}`);
    return 1;
  }
  const l = outcome.value;
  console.log(`${l.name} ${l.type}: ${l.rcode}${l.authoritative ? " (authoritative)" : ""} from ${l.server}`);
  for (const a of l.answers) console.log(`  ${a.name} ${a.type} ${a.data}`);
  return l.rcode === "NOERROR" ? 0 : 1;
}
