/**
 * Text safe for a terminal (pure): what explain and trace print comes in part from the agents'
 * answers, so every C0/C1 control character, DEL and the Unicode line, paragraph and bidirectional
 * controls become visible `\xNN` / `\u{NNNN}` escapes — no escape sequence reaches the terminal
 * and no answer can start a line of its own.
 */
import { escapeControls, isControl } from "../base/control-chars.ts";

/** `text` with every control character written as a visible escape. */
export function printable(text: string): string {
  return escapeControls(text);
}

/** Lines joined for the terminal, each one made printable. */
export function printableLines(lines: readonly string[]): string {
  return lines.map(printable).join("\n");
}

/** Whether the text (lines joined by "\n") holds anything a terminal would act on. */
export function hasUnprintable(text: string): boolean {
  for (const c of text) if (c !== "\n" && isControl(c.codePointAt(0) ?? 0)) return true;
  return false;
}
