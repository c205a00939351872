/**
 * How text goes to and comes back from a long-lived `nft -i` (pure; nft-session.ts runs the
 * child). Measured on nft 1.0.6 (built with libedit) with stdin a pipe:
 *
 * - It prints no prompt, runs each input line as soon as it is read, and exits 0 at end of input
 *   even after errors: the exit code says nothing, stderr is the only sign of a refusal.
 * - One line is one batch: `cmd1; cmd2` whose cmd2 fails leaves cmd1 undone (checked in a
 *   namespace, and in test/integration/nft-session.test.ts).
 * - Successful commands print nothing (no `list`, no `--echo`), so stderr holds errors only.
 *
 * To know where one transaction's errors end, a sentinel line follows each transaction: a lone
 * word nft's parser rejects (`Error: syntax error…`, then the line, then a caret line). It is
 * the only thing that always writes to the same stream as the transaction's errors, without
 * asking the kernel anything and without depending on the table. A command that succeeds would
 * print on stdout, and the order of two pipes cannot be known from here.
 */

/** The word after which nft's reply to one transaction is complete; unique per transaction. */
export function sentinelToken(session: string, sequence: number): string {
  return `podnet-session-end-${session}-${sequence}`;
}

/**
 * The transaction `text` (one command a line, as `nft -f` takes it) as the one line `nft -i`
 * runs as one batch, or why it cannot be one. `;` and a newline are the same separator to
 * nft's parser, at the top level and inside `{ }` alike, so set declarations such as
 * `{ type ipv4_addr; flags interval; }` keep their meaning. A `#` would make the rest of the line
 * a comment (the later commands silently left out), and a quoted string could hold either.
 * podnet's transactions have neither (no rule comments, names are DNS labels and addresses).
 * A line longer than `maxLineBytes` is refused too: libedit reads its input one byte per read(2)
 * (strace: 60,342 reads for a 60 KB line), about 4 µs a byte, so past some KiB a new `nft -f`
 * is faster.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

export function sessionLine(
  text: string,
  maxLineBytes = Number.POSITIVE_INFINITY,
): { line: string } | { unsupported: string } {
  const commands = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  for (const command of commands) {
    if (command.includes("#")) return { unsupported: `a comment in "${clip(command)}"` };
    if (command.includes('"')) return { unsupported: `a quoted string in "${clip(command)}"` };
    // libedit reads the line: a control character could be taken as an editing key.
    if (CONTROL.test(command)) return { unsupported: `a control character in "${clip(command)}"` };
  }
  const line = commands.join("; ");
  const bytes = Buffer.byteLength(line);
  if (bytes > maxLineBytes) return { unsupported: `${bytes} bytes, more than ${maxLineBytes} on one line` };
  return { line };
}

export type SessionReply =
  | { readonly complete: false }
  | {
      readonly complete: true;
      /** What nft printed for the transaction itself: empty when it took it. */
      readonly output: string;
      /** What was read past the sentinel's reply (belongs to the next transaction). */
      readonly rest: string;
    };

/**
 * Looks for the sentinel's reply in what was read from stderr so far: `Error: …`, the token's
 * line, a caret line. Everything before its `Error:` line is the transaction's.
 */
export function readReply(buffer: string, token: string): SessionReply {
  const lines = buffer.split("\n");
  // The last element is an unterminated line (or ""): only complete lines count.
  for (let i = 1; i + 2 < lines.length; i++) {
    if (lines[i] !== token) continue;
    const output = lines.slice(0, i - 1).join("\n");
    const rest = lines.slice(i + 2).join("\n");
    return { complete: true, output: output === "" ? "" : `${output}\n`, rest };
  }
  return { complete: false };
}

const MAX_LINE = 240;
const clip = (line: string): string => (line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);

/**
 * The first lines of nft's error for a message, as `nft -f` failures are reported: nft repeats
 * the whole one-line transaction under its `Error:` line, so long lines are cut.
 */
export function refusalReason(output: string, maxLines = 6): string {
  return output
    .trim()
    .split("\n")
    .slice(0, maxLines)
    .map((l) => clip(l.trimEnd()))
    .join("; ");
}
