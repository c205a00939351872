import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  givenToken,
  readTokenFile,
  sameToken,
  tokenProblem,
  UI_TOKEN_ENV,
  UiTokenError,
} from "./ui-token.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), "podnet-ui-token-"));
  dirs.push(dir);
  const path = join(dir, "token");
  writeFileSync(path, content);
  return path;
}

const GOOD = "s3cret-token-0123456789";

describe("tokenProblem", () => {
  test("takes visible ASCII of the minimum length", () => {
    expect(tokenProblem("a+b/c=d~e!f_g-h.", 16)).toBeUndefined();
  });
  test("refuses empty, spaces, control and non-ASCII characters, and short tokens", () => {
    expect(tokenProblem("", 16)).toBe("it is empty");
    expect(tokenProblem("abcdefgh ijklmnopq", 16)).toContain("a space");
    expect(tokenProblem("abcdefgh\u0007ijklmnopq", 16)).toContain("U+0007");
    expect(tokenProblem("abcdefghéijklmnopq", 16)).toContain("U+00E9");
    expect(tokenProblem("abcdefghijklmno", 16)).toBe("it is 15 characters long, shorter than 16");
  });
});

describe("sameToken", () => {
  test("is true only for the same token, whatever the lengths", () => {
    expect(sameToken(GOOD, GOOD)).toBe(true);
    expect(sameToken(`${GOOD}x`, GOOD)).toBe(false);
    expect(sameToken(GOOD.slice(0, -1), GOOD)).toBe(false);
    expect(sameToken("", GOOD)).toBe(false);
    expect(sameToken(GOOD.replace("s", "S"), GOOD)).toBe(false);
  });
});

describe("readTokenFile", () => {
  test("reads the token once, trimmed", () => {
    expect(readTokenFile(file(`  ${GOOD}\n`))).toBe(GOOD);
  });

  test.each([
    ["an empty file", "\n", /: it is empty$/],
    ["a short token", "0123456789abcde\n", /15 characters long, shorter than 16/],
    ["two words", "0123456789abcdef 0123456789abcdef", /a space/],
    ["a NUL", "0123456789abcdef\u0000", /U\+0000/],
  ])("refuses %s, naming the file", (_what, content, reason) => {
    const path = file(content);
    expect(() => readTokenFile(path)).toThrow(UiTokenError);
    expect(() => readTokenFile(path)).toThrow(`token file ${path}: `);
    expect(() => readTokenFile(path)).toThrow(reason);
  });

  test("refuses a file that is too large or cannot be read", () => {
    const big = file("x".repeat(5000));
    expect(() => readTokenFile(big)).toThrow(`token file ${big}: it is larger than 4096 bytes`);
    expect(() => readTokenFile("/nonexistent/podnet-token")).toThrow(
      /^token file \/nonexistent\/podnet-token: cannot read it: /,
    );
    const unreadable = file(GOOD);
    chmodSync(unreadable, 0o000);
    // root reads any file; only check the refusal when the mode really stops us.
    if (process.getuid?.() !== 0) expect(() => readTokenFile(unreadable)).toThrow(/cannot read it/);
  });
});

describe("givenToken", () => {
  const env = { [UI_TOKEN_ENV]: ` env-token-0123456789\n` };

  test("--token wins over --token-file and the environment; the file over the environment", () => {
    expect(givenToken({ token: "flag-token", env })).toBe("flag-token");
    expect(givenToken({ tokenFile: file(GOOD), env })).toBe(GOOD);
    expect(givenToken({ env })).toBe("env-token-0123456789");
    expect(givenToken({ env: {} })).toBeUndefined();
  });

  test("refuses both flags, and a bad token naming where it came from", () => {
    expect(() => givenToken({ token: GOOD, tokenFile: file(GOOD) })).toThrow("not both");
    expect(() => givenToken({ token: "short" })).toThrow("--token: it is 5 characters long, shorter than 8");
    expect(() => givenToken({ env: { [UI_TOKEN_ENV]: "" } })).toThrow(`${UI_TOKEN_ENV}: it is empty`);
    expect(() => givenToken({ env: { [UI_TOKEN_ENV]: "too-short" } })).toThrow(
      `${UI_TOKEN_ENV}: it is 9 characters long, shorter than 16`,
    );
  });
});
