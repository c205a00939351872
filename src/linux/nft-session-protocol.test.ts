import { describe, expect, test } from "bun:test";
import { readReply, refusalReason, sentinelToken, sessionLine } from "./nft-session-protocol.ts";

const TOKEN = sentinelToken("abc123", 7);
// What nft 1.0.6 -i printed on stderr for a sentinel line (captured in a namespace).
const sentinelReply = (token: string) =>
  `Error: syntax error, unexpected newline, expecting string\n${token}\n${" ".repeat(token.length)}^\n`;
const refusal =
  "Error: No such file or directory\n" +
  "add element ip podnet cluster-ips { 10.0.0.1 }; add element ip podnet nosuch { 1.2.3.4 }\n" +
  "                                                                      ^^^^^^\n";

describe("sessionLine", () => {
  test("joins the commands of a transaction into one line, blank lines dropped", () => {
    const text = "add element ip podnet a { 1.2.3.4 }\n\n  delete element ip podnet b { 5.6.7.8 }  \n";
    expect(sessionLine(text)).toEqual({
      line: "add element ip podnet a { 1.2.3.4 }; delete element ip podnet b { 5.6.7.8 }",
    });
  });

  test("keeps the semicolons of set declarations (the same separator to nft)", () => {
    const text =
      "add set ip podnet s { type ipv4_addr; flags interval; }\nadd element ip podnet s { 10.0.0.0/8 }\n";
    expect(sessionLine(text)).toEqual({
      line: "add set ip podnet s { type ipv4_addr; flags interval; }; add element ip podnet s { 10.0.0.0/8 }",
    });
  });

  test("refuses a comment, which would hide the commands after it on one line", () => {
    const r = sessionLine("# podnet\nadd element ip podnet a { 1.2.3.4 }\n");
    expect(r).toEqual({ unsupported: 'a comment in "# podnet"' });
  });

  test("refuses quoted strings and control characters", () => {
    expect("unsupported" in sessionLine('add rule ip podnet c counter comment "x"\n')).toBe(true);
    expect("unsupported" in sessionLine("add element ip podnet a { 1.2.3.4 \x1b}\n")).toBe(true);
  });

  test("refuses a line longer than the limit, counted in bytes", () => {
    const text = "add element ip podnet a { 1.2.3.4 }\nadd element ip podnet b { 5.6.7.8 }\n";
    expect(sessionLine(text, 72)).toEqual({
      line: "add element ip podnet a { 1.2.3.4 }; add element ip podnet b { 5.6.7.8 }",
    });
    expect(sessionLine(text, 71)).toEqual({ unsupported: "72 bytes, more than 71 on one line" });
  });

  test("an empty transaction is an empty line", () => {
    expect(sessionLine("\n\n")).toEqual({ line: "" });
  });
});

describe("readReply", () => {
  test("a transaction nft took: nothing before the sentinel's reply", () => {
    expect(readReply(sentinelReply(TOKEN), TOKEN)).toEqual({ complete: true, output: "", rest: "" });
  });

  test("a refused transaction: its error, and nothing of the sentinel's", () => {
    expect(readReply(refusal + sentinelReply(TOKEN), TOKEN)).toEqual({
      complete: true,
      output: refusal,
      rest: "",
    });
  });

  test("incomplete until the sentinel's caret line has arrived", () => {
    const whole = refusal + sentinelReply(TOKEN);
    const withoutCarets = whole.slice(0, whole.lastIndexOf(TOKEN) + TOKEN.length + 1);
    expect(readReply(withoutCarets, TOKEN)).toEqual({ complete: false });
    expect(readReply(whole.slice(0, -1), TOKEN)).toEqual({ complete: false });
    expect(readReply(refusal, TOKEN)).toEqual({ complete: false });
  });

  test("another transaction's sentinel does not end this one", () => {
    const earlier = sentinelToken("abc123", 6);
    expect(readReply(sentinelReply(earlier), TOKEN)).toEqual({ complete: false });
  });

  test("what follows the sentinel's reply is kept for the next transaction", () => {
    const next = "Error: Could not process rule: No such file or directory\n";
    expect(readReply(sentinelReply(TOKEN) + next, TOKEN)).toEqual({ complete: true, output: "", rest: next });
  });
});

describe("refusalReason", () => {
  test("the first lines of nft's error, long lines cut", () => {
    const long = `add element ip podnet a { ${"10.0.0.1, ".repeat(100)}}`;
    const reason = refusalReason(`Error: No such file or directory\n${long}\n   ^^^\n`);
    const parts = reason.split("; ");
    expect(parts[0]).toBe("Error: No such file or directory");
    expect(parts[1]?.length).toBe(241);
    expect(parts[1]?.endsWith("…")).toBe(true);
  });

  test("at most six lines", () => {
    const text = Array.from({ length: 10 }, (_, i) => `line ${i}`).join("\n");
    expect(refusalReason(text).split("; ")).toHaveLength(6);
  });
});
