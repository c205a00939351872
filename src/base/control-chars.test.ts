import { describe, expect, test } from "bun:test";
import { escapeControls, firstControl, isControl } from "./control-chars.ts";

describe("control characters", () => {
  test("C0, DEL, C1, line separators and bidi controls are controls; text is not", () => {
    for (const code of [0x00, 0x1b, 0x0a, 0x7f, 0x9b, 0x2028, 0x202e, 0x2067])
      expect(isControl(code)).toBe(true);
    for (const code of [0x20, 0x41, 0xe9, 0x2192, 0x1f600]) expect(isControl(code)).toBe(false);
  });

  test("escaping makes an escape sequence visible and leaves plain text alone", () => {
    expect(escapeControls("\u001b]0;owned\u0007eth0")).toBe("\\x1b]0;owned\\x07eth0");
    expect(escapeControls("a\u202eb")).toBe("a\\u{202e}b");
    expect(escapeControls("node1 → node3")).toBe("node1 → node3");
    expect(firstControl("ok\u0085")).toBe(0x85);
    expect(firstControl("ok")).toBeUndefined();
  });
});
