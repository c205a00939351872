import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, UsageError } from "./args.ts";
import { LAB_UI_USAGE, labUiOptions } from "./lab-ui-command.ts";

const dir = mkdtempSync(join(tmpdir(), "podnet-lab-ui-command-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const options = (argv: string[], env: Record<string, string> = {}) => labUiOptions(parseArgs(argv), env);

describe("lab ui's token, taken as podnet ui takes it", () => {
  test("--token, else --token-file's, else PODNET_UI_TOKEN's; none: no token", () => {
    const file = join(dir, "token");
    writeFileSync(file, "file-token-0123456789\n");
    const env = { PODNET_UI_TOKEN: " env-token-0123456789\n" };
    expect(options(["--token", "flag-token-1"], env)).toEqual({ token: "flag-token-1" });
    expect(options(["--token-file", file, "--listen", "127.0.0.1:0"], env)).toEqual({
      token: "file-token-0123456789",
      listen: "127.0.0.1:0",
    });
    expect(options([], env)).toEqual({ token: "env-token-0123456789" });
    expect(options([])).toEqual({});
  });

  test.each([
    [["--token", "t0123456789abcdef", "--token-file", "/x"], {}, /not both/],
    [
      ["--token-file", "/nonexistent/podnet-token"],
      {},
      /token file \/nonexistent\/podnet-token: cannot read it/,
    ],
    [["--token", "short"], {}, /--token: it is 5 characters long, shorter than 8/],
    [[], { PODNET_UI_TOKEN: "too short" }, /PODNET_UI_TOKEN: it contains a space/],
    [["extra"], {}, /^usage: podnet lab ui /],
  ])("refuses %p %p as a usage error naming what is wrong, with lab ui's usage", (argv, env, message) => {
    const run = () => options(argv, env);
    expect(run).toThrow(UsageError);
    expect(run).toThrow(message);
    expect(run).toThrow(`usage: ${LAB_UI_USAGE}`);
  });
});
