import { describe, expect, test } from "bun:test";
import { hasUnprintable, printable, printableLines } from "./printable.ts";

describe("printable", () => {
  test("escapes C0, DEL, C1 and bidi controls; keeps ordinary text and symbols", () => {
    expect(printable("a\u001b[2Jb\u0007c\u007fd\u009be")).toBe("a\\x1b[2Jb\\x07c\\x7fd\\x9be");
    expect(printable("x\u202ey")).toBe("x\\u{202e}y");
    expect(printable("✓ node1: 10.244.3.0/24 → via")).toBe("✓ node1: 10.244.3.0/24 → via");
  });

  test("a newline inside one line cannot start a line of its own", () => {
    expect(printableLines(["one\ntwo", "three"])).toBe("one\\x0atwo\nthree");
    expect(hasUnprintable("one\ntwo")).toBe(false);
    expect(hasUnprintable("one\u001b[2J")).toBe(true);
  });
});
