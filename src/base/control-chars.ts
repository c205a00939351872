/**
 * Characters a terminal acts on, or that reorder or break lines (pure): C0 and C1 controls, DEL,
 * the Unicode line and paragraph separators and the bidirectional controls. Text that came from
 * the network (agents' answers, a probe's reply) has them refused or escaped before it reaches a
 * terminal or a command line a person copies.
 */

export function isControl(code: number): boolean {
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

/** The first control character's code point in `text`, if any. */
export function firstControl(text: string): number | undefined {
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (isControl(code)) return code;
  }
  return undefined;
}

/** How a control character is shown: `\xNN` up to 0xff, `\u{NNNN}` above. */
export function escapeCode(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

/** `text` with every control character written as its escape. */
export function escapeControls(text: string): string {
  if (firstControl(text) === undefined) return text;
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += isControl(code) ? escapeCode(code) : ch;
  }
  return out;
}
