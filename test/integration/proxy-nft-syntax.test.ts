/**
 * The proxy's rendered nftables text is accepted by the real nft and kernel: every golden file,
 * and every partial-sync transaction of golden-cases.ts's DIFF_CASES applied right after the full
 * sync of its starting state (one file, so `nft --check` sees the table the diff expects). Only
 * `nft --check` runs, inside a namespace of our own (`pntest-<id>-nft`): the kernel validates the
 * whole transaction and then discards it, so nothing is ever installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/linux/exec.ts";
import { createNetns, deleteNetns, inNetns, netnsExists, randomSuffix } from "../../src/linux/netns.ts";
import { diffRulesets, fullSync } from "../../src/proxy/diff.ts";
import { DIFF_CASES, GOLDEN_CASES } from "../../src/proxy/golden-cases.ts";
import { renderRuleset } from "../../src/proxy/ruleset.ts";
import { disposeOnExit, OWNER_FILE, sweepStaleRuns } from "./leftovers.ts";

const GOLDEN_DIR = join(import.meta.dir, "../../src/proxy/golden");
const id = randomSuffix(6);
const netns = `pntest-${id}-nft`;
let dir = "";
let forget: () => void = () => {};

function cleanup(): void {
  deleteNetns(netns);
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("this test creates a network namespace and must run as root");
  sweepStaleRuns();
  dir = mkdtempSync(join(tmpdir(), `pntest-${id}-`));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  forget = disposeOnExit(cleanup);
  createNetns(netns);
});

afterAll(() => {
  cleanup();
  forget();
  expect(netnsExists(netns)).toBe(false);
});

async function nftCheck(path: string): Promise<{ code: number; stderr: string }> {
  const r = await run(inNetns(netns, ["nft", "--check", "-f", path]), { timeoutMs: 60_000 });
  return { code: r.code, stderr: r.stderr };
}

async function checkText(name: string, text: string): Promise<{ code: number; stderr: string }> {
  const path = join(dir, `${name}.nft`);
  writeFileSync(path, text);
  return nftCheck(path);
}

describe("nft accepts the rendered rulesets", () => {
  const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith(".nft"));

  test("there is a golden file for every case", () => {
    expect(files.sort()).toEqual(
      Object.keys(GOLDEN_CASES)
        .map((n) => `${n}.nft`)
        .sort(),
    );
  });

  for (const file of files) {
    test(`golden ${file}`, async () => {
      expect(await nftCheck(join(GOLDEN_DIR, file))).toEqual({ code: 0, stderr: "" });
    });
  }

  for (const [name, { prev, next }] of Object.entries(DIFF_CASES)) {
    test(`full sync then partial sync: ${name}`, async () => {
      const before = renderRuleset(prev);
      const diff = diffRulesets(before, renderRuleset(next, before));
      expect(diff).not.toBe("");
      expect(await checkText(`diff-${name}`, fullSync(before) + diff)).toEqual({ code: 0, stderr: "" });
    });
  }

  test("a full sync can follow a full sync (the table already exists)", async () => {
    const text = fullSync(renderRuleset(GOLDEN_CASES.nodeport)) + fullSync(renderRuleset(GOLDEN_CASES.ipv6));
    expect(await checkText("twice", text + text)).toEqual({ code: 0, stderr: "" });
  });

  test("the check is real: a transaction that breaks a reference is refused", async () => {
    const text = `${fullSync(renderRuleset(GOLDEN_CASES["tcp-two-endpoints"]))}delete chain ip podnet services\n`;
    const r = await checkText("broken", text);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("delete chain ip podnet services");
  });
});
