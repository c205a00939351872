/**
 * The proxy's rendered nftables text is accepted by the real nft and kernel: every golden file,
 * and every partial-sync transaction of golden-cases.ts's DIFF_CASES applied right after the full
 * sync of its starting state (one file, so `nft --check` sees the table the diff expects); then the
 * same transactions applied for real, one `nft -f` each as the agent does, must leave exactly the
 * table a full sync of the next state gives. All inside a namespace of our own (`pntest-<id>-nft`, a TestRun's).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../../src/linux/exec.ts";
import { inNetns, netnsExists } from "../../src/linux/netns.ts";
import { diffRulesets, fullSync, planText } from "../../src/proxy/diff.ts";
import { DIFF_CASES, GOLDEN_CASES } from "../../src/proxy/golden-cases.ts";
import { renderRuleset } from "../../src/proxy/ruleset.ts";
import { TestRun } from "./harness/test-run.ts";

const GOLDEN_DIR = join(import.meta.dir, "../../src/proxy/golden");
let testRun: TestRun | undefined;
let netns = "";
let dir = "";

beforeAll(() => {
  testRun = new TestRun();
  netns = testRun.createNetns("nft").name;
  dir = testRun.dir;
});

afterAll(() => {
  testRun?.dispose();
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

async function apply(name: string, text: string): Promise<{ code: number; stderr: string }> {
  const path = join(dir, `${name}.nft`);
  writeFileSync(path, text);
  const r = await run(inNetns(netns, ["nft", "-f", path]), { timeoutMs: 60_000 });
  return { code: r.code, stderr: r.stderr };
}

async function flushRuleset(): Promise<void> {
  const r = await run(inNetns(netns, ["nft", "flush", "ruleset"]), { timeoutMs: 30_000 });
  expect(r.code).toBe(0);
}

/** podnet's table as the kernel holds it, without handles and in a stable order. */
async function tables(family: string): Promise<string[]> {
  const r = await run(inNetns(netns, ["nft", "-j", "list", "table", family, "podnet"]), {
    timeoutMs: 30_000,
  });
  expect(r.stderr).toBe("");
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== "object" || v === null) return v;
    const entries = Object.entries(v).filter(([k]) => k !== "handle");
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries)
      out[k] = k === "elem" && Array.isArray(x) ? x.map((e) => JSON.stringify(strip(e))).sort() : strip(x);
    return out;
  };
  const objects = (JSON.parse(r.stdout) as { nftables: unknown[] }).nftables.filter(
    (o) => !(typeof o === "object" && o !== null && "metainfo" in o),
  );
  return objects.map((o) => JSON.stringify(strip(o))).sort();
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
      const plan = diffRulesets(before, renderRuleset(next, before));
      expect(plan.kind).toBe("partial");
      const diff = planText(plan);
      expect(diff).not.toBe("");
      expect(await checkText(`diff-${name}`, planText(fullSync(before)) + diff)).toEqual({
        code: 0,
        stderr: "",
      });
    });
  }

  for (const [name, { prev, next }] of Object.entries(DIFF_CASES)) {
    test(`applied for real, the partial sync leaves what a full sync would: ${name}`, async () => {
      // Separate nft runs, as the agent applies them: nft must read the kernel's table back
      // (the step `--check` of one file skips, and where nft 1.0.6 once choked on a typeof).
      const before = renderRuleset(prev);
      const after = renderRuleset(next, before);
      await flushRuleset();
      expect(await apply(`full-${name}`, planText(fullSync(before)))).toEqual({ code: 0, stderr: "" });
      const plan = diffRulesets(before, after);
      expect(plan.kind).toBe("partial");
      expect(await apply(`partial-${name}`, planText(plan))).toEqual({
        code: 0,
        stderr: "",
      });
      const partial = await tables(after.family);
      await flushRuleset();
      expect(await apply(`next-${name}`, planText(fullSync(after)))).toEqual({ code: 0, stderr: "" });
      expect(partial).toEqual(await tables(after.family));
      await flushRuleset();
    });
  }

  test("each protocol's DNAT chains match that protocol, as compiled by the kernel", async () => {
    // nft derives a protocol match from the endpoint map's declaration; a TCP match in a UDP
    // chain once left UDP Services untranslated. Read back the bytecode, not the text.
    await flushRuleset();
    expect(await apply("multi", planText(fullSync(renderRuleset(GOLDEN_CASES["multi-protocol"]))))).toEqual({
      code: 0,
      stderr: "",
    });
    const r = await run(inNetns(netns, ["nft", "--debug=netlink", "list", "table", "ip", "podnet"]), {
      timeoutMs: 30_000,
    });
    const numbers: Record<string, string> = { tcp: "0x00000006", udp: "0x00000011", sctp: "0x00000084" };
    const blocks = r.stdout
      .split(/\n(?=ip podnet )/)
      .filter((b) => /^ip podnet (nodeport-)?endpoints-/.test(b));
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const seen = new Set<string>();
    for (const block of blocks) {
      const proto = /endpoints-(tcp|udp|sctp)-/.exec(block)?.[1] as string;
      seen.add(proto);
      const matches = [...block.matchAll(/cmp eq reg 1 (0x[0-9a-f]+)/g)].map((m) => m[1]);
      expect({ proto, matches }).toEqual({ proto, matches: [numbers[proto]] });
    }
    expect([...seen].sort()).toEqual(["sctp", "tcp", "udp"]);
    await flushRuleset();
  });

  test("a full sync can follow a full sync (the table already exists)", async () => {
    const text =
      planText(fullSync(renderRuleset(GOLDEN_CASES.nodeport))) +
      planText(fullSync(renderRuleset(GOLDEN_CASES.ipv6)));
    expect(await checkText("twice", text + text)).toEqual({ code: 0, stderr: "" });
  });

  test("the check is real: a transaction that breaks a reference is refused", async () => {
    const text = `${planText(fullSync(renderRuleset(GOLDEN_CASES["tcp-two-endpoints"])))}delete chain ip podnet services\n`;
    const r = await checkText("broken", text);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("delete chain ip podnet services");
  });
});
