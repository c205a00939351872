import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../store/store.ts";
import { flag, parseArgs, UsageError } from "./args.ts";
import { type DiagnosisCommand, diagnosisCommand } from "./diagnosis-command.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function datastore(): string {
  const dir = mkdtempSync(join(tmpdir(), "podnet-diagnosis-command-"));
  dirs.push(dir);
  return `sqlite:${dir}/cluster.db`;
}

/** A command that echoes its one argument, remembering the store it ran on. */
function echo(
  ran: Store[],
  fail?: Error,
): DiagnosisCommand<{ datastore: string; json: boolean; word: string }, string[]> {
  return {
    usage: "podnet echo WORD --datastore SPEC [--json]",
    options: (args) => {
      const word = args.positionals[0];
      if (word === undefined) throw new UsageError("usage: podnet echo WORD --datastore SPEC [--json]");
      return { datastore: flag(args, "datastore") ?? "", json: args.flags.has("json"), word };
    },
    run: async (store, { word }) => {
      ran.push(store);
      if (fail !== undefined) throw fail;
      return [word];
    },
    render: (words) => `said ${words.join(" ")}`,
  };
}

const parse = (a: readonly string[]) => parseArgs(a, ["json", "help"]);

function capture() {
  const out: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: () => {} }, out };
}

describe("diagnosisCommand", () => {
  test("--help and `help` print the usage and open nothing", async () => {
    for (const argv of [["--help"], ["help"]]) {
      const ran: Store[] = [];
      const { io, out } = capture();
      const command = diagnosisCommand(echo(ran));
      const code = await command([...argv, "--datastore", "sqlite:/nonexistent/x.db"], parse, io);
      expect(code).toBe(0);
      expect(out).toEqual(["usage: podnet echo WORD --datastore SPEC [--json]"]);
      expect(ran).toEqual([]);
    }
  });

  test("prints the rendered result, or JSON with --json, and closes the datastore", async () => {
    const ran: Store[] = [];
    const spec = datastore();
    const text = capture();
    expect(await diagnosisCommand(echo(ran))(["hello", "--datastore", spec], parse, text.io)).toBe(0);
    expect(text.out).toEqual(["said hello"]);
    const json = capture();
    expect(await diagnosisCommand(echo(ran))(["hello", "--datastore", spec, "--json"], parse, json.io)).toBe(
      0,
    );
    expect(JSON.parse(json.out.join("\n"))).toEqual(["hello"]);
    expect(ran).toHaveLength(2);
    for (const store of ran) await expect(store.put("/x", "1")).rejects.toThrow(/closed/);
  });

  test("a malformed command line fails before the datastore is opened; a failed run still closes it", async () => {
    const ran: Store[] = [];
    const { io, out } = capture();
    await expect(
      diagnosisCommand(echo(ran))(["--datastore", "sqlite:/nonexistent/dir/x.db"], parse, io),
    ).rejects.toBeInstanceOf(UsageError);
    const boom = new Error("no cluster in the datastore");
    await expect(
      diagnosisCommand(echo(ran, boom))(["hello", "--datastore", datastore()], parse, io),
    ).rejects.toBe(boom);
    expect(out).toEqual([]);
    expect(ran).toHaveLength(1);
    await expect(ran[0]?.put("/x", "1")).rejects.toThrow(/closed/);
  });
});
