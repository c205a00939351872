/**
 * The token of `podnet ui`: what makes a good one, where an operator gives it (`--token`,
 * `--token-file`, PODNET_UI_TOKEN — in that order of precedence) and how a request's is compared
 * with it: as SHA-256 digests in constant time, so neither the content nor the length leaks.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";

export const UI_TOKEN_ENV = "PODNET_UI_TOKEN";
/** The shortest token the server takes at all (`--token`). */
export const MIN_TOKEN = 8;
/** The shortest token taken from a file or the environment, which are meant for long-lived secrets. */
export const MIN_STORED_TOKEN = 16;
/** A token file larger than this is not a token file. */
const MAX_TOKEN_FILE = 4096;

export class UiTokenError extends Error {
  override readonly name = "UiTokenError";
}

/**
 * Why `token` cannot be a token, or undefined. Visible ASCII only: it travels in a header and in
 * the URL the server prints.
 */
export function tokenProblem(token: string, minLength: number): string | undefined {
  if (token === "") return "it is empty";
  const bad = [...token].find((c) => c < "!" || c > "~");
  if (bad !== undefined)
    return `it contains ${bad === " " ? "a space" : `the character U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`} (a token is visible ASCII)`;
  if (token.length < minLength) return `it is ${token.length} characters long, shorter than ${minLength}`;
  return undefined;
}

/** Whether `given` is `token`, in time that depends on neither (their digests are compared). */
export function sameToken(given: string, token: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** The token in `path`, read once and trimmed; UiTokenError naming the file and what is wrong. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(MAX_TOKEN_FILE + 1);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n > MAX_TOKEN_FILE)
        throw new UiTokenError(`token file ${path}: it is larger than ${MAX_TOKEN_FILE} bytes`);
      text = buf.subarray(0, n).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof UiTokenError) throw e;
    throw new UiTokenError(`token file ${path}: cannot read it: ${(e as Error).message}`);
  }
  const token = text.trim();
  const problem = tokenProblem(token, MIN_STORED_TOKEN);
  if (problem !== undefined) throw new UiTokenError(`token file ${path}: ${problem}`);
  return token;
}

export interface TokenSources {
  readonly token?: string;
  readonly tokenFile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The token the operator gave: `--token`, else `--token-file`'s, else PODNET_UI_TOKEN's (trimmed);
 * undefined when none. Giving both flags is refused; so is a bad token, naming where it came from.
 */
export function givenToken(s: TokenSources): string | undefined {
  if (s.token !== undefined && s.tokenFile !== undefined)
    throw new UiTokenError("give the token with --token or with --token-file, not both");
  if (s.token !== undefined) {
    const problem = tokenProblem(s.token, MIN_TOKEN);
    if (problem !== undefined) throw new UiTokenError(`--token: ${problem}`);
    return s.token;
  }
  if (s.tokenFile !== undefined) return readTokenFile(s.tokenFile);
  const fromEnv = s.env?.[UI_TOKEN_ENV];
  if (fromEnv === undefined) return undefined;
  const token = fromEnv.trim();
  const problem = tokenProblem(token, MIN_STORED_TOKEN);
  if (problem !== undefined) throw new UiTokenError(`${UI_TOKEN_ENV}: ${problem}`);
  return token;
}
