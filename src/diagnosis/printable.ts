/**
 * Text safe for a terminal (pure): what explain and trace print comes in part from the agents'
 * answers, so every C0/C1 control character, DEL and the Unicode line, paragraph and bidirectional
 * controls become visible `\xNN` / `\u{NNNN}` escapes — no escape sequence reaches the terminal
 * and no answer can start a line of its own.
 */

/** Whether a code point must not reach a terminal as it is. */
export function isUnprintable(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeCode(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

export function printable(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    out += isUnprintable(code) ? escapeCode(code) : c;
  }
  return out;
}

/** Lines joined for the terminal, each one made printable. */
export function printableLines(lines: readonly string[]): string {
  return lines.map(printable).join("\n");
}

/** Whether the text (lines joined by "\n") holds anything a terminal would act on. */
export function hasUnprintable(text: string): boolean {
  for (const c of text) if (c !== "\n" && isUnprintable(c.codePointAt(0) ?? 0)) return true;
  return false;
}
