/**
 * The long-lived `nft -i` of linux/nft-session.ts against the real nft and kernel, inside a
 * namespace of our own (`pntest-<id>-nftsess`): a line is one batch (all or nothing), each
 * transaction gets its own errors back, a table replaced by another process is seen, a killed
 * child is replaced, and close() leaves no process. Then KernelCommands with podnet's own partial
 * syncs: through the session they leave what a full sync of the next state leaves.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns, netnsExists, netnsPids } from "../../src/linux/netns.ts";
import { NftSession, NftSessionError, NftSessionRefusedError } from "../../src/linux/nft-session.ts";
import { diffRulesets, fullSync, planText } from "../../src/proxy/diff.ts";
import { DIFF_CASES } from "../../src/proxy/golden-cases.ts";
import { KernelCommands } from "../../src/proxy/kernel-commands.ts";
import { NftRefusedError } from "../../src/proxy/proxy-kernel.ts";
import { renderRuleset } from "../../src/proxy/ruleset.ts";
import { TestRun } from "./harness/test-run.ts";

let testRun: TestRun | undefined;
let netns = "";
let prefix: string[] = [];

beforeAll(() => {
  testRun = new TestRun();
  netns = testRun.createNetns("nftsess").name;
  prefix = ["ip", "netns", "exec", netns];
});

afterAll(() => {
  testRun?.dispose();
  expect(netnsExists(netns)).toBe(false);
});

async function nft(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await run(inNetns(netns, ["nft", ...args]), { timeoutMs: 60_000, ...(stdin ? { stdin } : {}) });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** A small table to work on, replacing whatever was there (a full sync of another process). */
async function replaceTable(sets: readonly string[]): Promise<void> {
  const declarations = sets.map((s) => `set ${s} { type ipv4_addr; }`).join("\n");
  const r = await nft(["-f", "-"], `flush ruleset\ntable ip podnet {\n${declarations}\n}\n`);
  expect(r).toMatchObject({ code: 0, stderr: "" });
}

async function elements(set: string): Promise<string[]> {
  const r = await nft(["-j", "list", "set", "ip", "podnet", set]);
  expect(r.stderr).toBe("");
  const objects = (JSON.parse(r.stdout) as { nftables: { set?: { elem?: string[] } }[] }).nftables;
  return [...(objects.find((o) => o.set !== undefined)?.set?.elem ?? [])].sort();
}

const gone = (pid: number): boolean => !existsSync(`/proc/${pid}`);

describe("nft -i session", () => {
  beforeEach(async () => {
    await replaceTable(["cluster-ips"]);
  });

  test("a transaction whose second command is refused leaves its first undone", async () => {
    const session = new NftSession({ prefix });
    try {
      const refused = session.apply(
        "add element ip podnet cluster-ips { 10.0.0.1 }\nadd element ip podnet no-such-set { 10.0.0.2 }\n",
      );
      await expect(refused).rejects.toBeInstanceOf(NftSessionRefusedError);
      await refused.catch((e: Error) => expect(e.message).toContain("no-such-set"));
      expect(await elements("cluster-ips")).toEqual([]);
      // The session stays usable.
      await session.apply("add element ip podnet cluster-ips { 10.0.0.3 }\n");
      expect(await elements("cluster-ips")).toEqual(["10.0.0.3"]);
    } finally {
      await session.close();
    }
  });

  test("each transaction of a mixed sequence gets its own answer", async () => {
    const session = new NftSession({ prefix });
    try {
      const texts = [
        "add element ip podnet cluster-ips { 10.0.1.1 }",
        "add element ip podnet missing-one { 10.0.1.2 }",
        "add element ip podnet cluster-ips { 10.0.1.3 }\nadd element ip podnet cluster-ips { 10.0.1.4 }",
        "add elemnt ip podnet cluster-ips { 10.0.1.5 }", // a syntax error
        "add element ip podnet cluster-ips { 10.0.1.6 }\ndelete element ip podnet cluster-ips { 10.0.9.9 }",
        "add element ip podnet cluster-ips { 10.0.1.7 }",
        "add element ip podnet missing-two { 10.0.1.8 }",
      ];
      // Sent at once: the session queues them.
      const outcomes = await Promise.allSettled(texts.map((t) => session.apply(t)));
      const answers = outcomes.map((o) => (o.status === "fulfilled" ? "applied" : errorOf(o.reason)));
      expect(answers[0]).toBe("applied");
      expect(answers[1]).toContain("missing-one");
      expect(answers[1]).not.toContain("missing-two");
      expect(answers[2]).toBe("applied");
      expect(answers[3]).toContain("syntax error");
      expect(answers[3]).toContain("elemnt");
      expect(answers[4]).toContain("10.0.9.9");
      expect(answers[5]).toBe("applied");
      expect(answers[6]).toContain("missing-two");
      expect(await elements("cluster-ips")).toEqual(["10.0.1.1", "10.0.1.3", "10.0.1.4", "10.0.1.7"]);
    } finally {
      await session.close();
    }
  });

  test("a table replaced by another process is what the next transaction sees", async () => {
    const session = new NftSession({ prefix });
    try {
      await session.apply("add element ip podnet cluster-ips { 10.0.2.1 }");
      // A full sync through `nft -f`: the old set is gone, a new one is there.
      await replaceTable(["fresh-ips"]);
      await session.apply("add element ip podnet fresh-ips { 10.0.2.2 }");
      expect(await elements("fresh-ips")).toEqual(["10.0.2.2"]);
      await expect(session.apply("add element ip podnet cluster-ips { 10.0.2.3 }")).rejects.toBeInstanceOf(
        NftSessionRefusedError,
      );
    } finally {
      await session.close();
    }
  });

  test("a killed child is replaced by the next transaction", async () => {
    const session = new NftSession({ prefix });
    try {
      await session.apply("add element ip podnet cluster-ips { 10.0.3.1 }");
      const first = session.pid as number;
      expect(first).toBeGreaterThan(0);
      process.kill(first, "SIGKILL");
      await pollUntil(`nft -i ${first} to end`, () => gone(first) && session.pid === undefined);
      await session.apply("add element ip podnet cluster-ips { 10.0.3.2 }");
      expect(session.pid).not.toBe(first);
      expect(await elements("cluster-ips")).toEqual(["10.0.3.1", "10.0.3.2"]);
    } finally {
      await session.close();
    }
  });

  test("it is replaced after maxTransactions, with nothing lost", async () => {
    const session = new NftSession({ prefix, maxTransactions: 2 });
    try {
      const pids: number[] = [];
      for (let i = 1; i <= 5; i++) {
        await session.apply(`add element ip podnet cluster-ips { 10.0.4.${i} }`);
        pids.push(session.pid as number);
      }
      expect(new Set(pids).size).toBe(3);
      for (const pid of new Set(pids)) if (pid !== session.pid) expect(gone(pid)).toBe(true);
      expect(await elements("cluster-ips")).toHaveLength(5);
    } finally {
      await session.close();
    }
  });

  test("a child without an answer in time is killed and the transaction rejected", async () => {
    // A stand-in that reads its input and never answers: tail follows /dev/null for ever (and only
    // complains that the files "nft" and "-i" do not exist). A new child first answers a sentinel
    // alone, so here the start itself times out, and so does a transaction on a second child.
    const session = new NftSession({ prefix: ["tail", "-f", "/dev/null", "--"], timeoutMs: 300 });
    try {
      for (const attempt of [
        () => session.start(),
        () => session.apply("add element ip podnet cluster-ips { 10.0.7.1 }"),
      ]) {
        const pending = attempt();
        await pollUntil("the child to run", () => session.pid !== undefined);
        const pid = session.pid as number;
        await expect(pending).rejects.toThrow(/no answer within 300 ms/);
        await pollUntil(`the unanswering child ${pid} to end`, () => gone(pid));
      }
    } finally {
      await session.close();
    }
  });

  test("close() ends the child; nothing of it is left in the namespace", async () => {
    const session = new NftSession({ prefix });
    await session.apply("add element ip podnet cluster-ips { 10.0.5.1 }");
    const pid = session.pid as number;
    expect(netnsPids(netns)).toContain(pid);
    await session.close();
    expect(gone(pid)).toBe(true);
    expect(netnsPids(netns)).toEqual([]);
    await expect(session.apply("add element ip podnet cluster-ips { 10.0.5.2 }")).rejects.toBeInstanceOf(
      NftSessionError,
    );
    expect(netnsPids(netns)).toEqual([]);
  });
});

describe("KernelCommands: full syncs by nft -f, partial ones through the session", () => {
  test("a refused partial sync is an NftRefusedError naming what nft refused", async () => {
    await replaceTable(["cluster-ips"]);
    const kernel = new KernelCommands({ prefix });
    try {
      const refused = kernel.applyTransaction("add element ip podnet gone-set { 10.0.6.1 }\n", "partial");
      await expect(refused).rejects.toBeInstanceOf(NftRefusedError);
      await refused.catch((e: Error) =>
        expect(e.message).toMatch(/^nft refused the transaction: Error: .*gone-set/),
      );
    } finally {
      await kernel.close();
    }
  });

  test("a partial sync too long for one line goes to nft -f, with nft -f's errors", async () => {
    await replaceTable(["cluster-ips"]);
    const kernel = new KernelCommands({ prefix, sessionOptions: { maxLineBytes: 10 } });
    try {
      await kernel.applyTransaction("add element ip podnet cluster-ips { 10.0.9.1 }\n", "partial");
      expect(await elements("cluster-ips")).toEqual(["10.0.9.1"]);
      const refused = kernel.applyTransaction("add element ip podnet gone-set { 10.0.9.2 }\n", "partial");
      await refused.catch((e: Error) => expect(e.message).toContain("(exit 1)"));
      await expect(refused).rejects.toBeInstanceOf(NftRefusedError);
    } finally {
      await kernel.close();
    }
  });

  test("without nft to start, a partial sync fails as it does without a session", async () => {
    const missing = ["/nonexistent/podnet-launcher"];
    const answers: string[] = [];
    for (const session of [true, false]) {
      const kernel = new KernelCommands({ prefix: missing, session });
      try {
        await kernel.applyTransaction("add element ip podnet cluster-ips { 10.0.8.1 }\n", "partial");
        answers.push("applied");
      } catch (e) {
        answers.push(String(e));
      } finally {
        await kernel.close();
      }
    }
    expect(answers[0]).toContain("podnet-launcher");
    expect(answers[0]).toBe(answers[1] as string);
  });

  test("an nft without its interactive mode: partial syncs go to nft -f, not to full syncs", async () => {
    await replaceTable(["cluster-ips"]);
    // A launcher whose nft exits at once for -i, as an nft built without its command line does.
    const launcher = join(testRun?.dir ?? "/nonexistent", "nft-without-cli");
    writeFileSync(
      launcher,
      `#!/bin/sh\nif [ "$2" = "-i" ]; then exit 1; fi\nexec ${prefix.join(" ")} "$@"\n`,
    );
    chmodSync(launcher, 0o755);
    const kernel = new KernelCommands({ prefix: [launcher] });
    try {
      await kernel.applyTransaction("add element ip podnet cluster-ips { 10.0.7.1 }\n", "partial");
      await kernel.applyTransaction("add element ip podnet cluster-ips { 10.0.7.2 }\n", "partial");
      expect(await elements("cluster-ips")).toEqual(["10.0.7.1", "10.0.7.2"]);
    } finally {
      await kernel.close();
    }
  });

  for (const [name, { prev, next }] of Object.entries(DIFF_CASES)) {
    test(`podnet's partial sync through the session leaves what a full sync would: ${name}`, async () => {
      const kernel = new KernelCommands({ prefix });
      try {
        const before = renderRuleset(prev);
        const after = renderRuleset(next, before);
        await nft(["flush", "ruleset"]);
        await kernel.applyTransaction(planText(fullSync(before)), "full");
        const plan = diffRulesets(before, after);
        expect(plan.kind).toBe("partial");
        await kernel.applyTransaction(planText(plan), "partial");
        const partial = await table(after.family);
        await nft(["flush", "ruleset"]);
        await kernel.applyTransaction(planText(fullSync(after)), "full");
        expect(partial).toEqual(await table(after.family));
      } finally {
        await kernel.close();
        await nft(["flush", "ruleset"]);
      }
    });
  }
});

function errorOf(e: unknown): string {
  expect(e).toBeInstanceOf(NftSessionRefusedError);
  return (e as Error).message;
}

/** podnet's table as the kernel holds it, without handles and in a stable order. */
async function table(family: string): Promise<string[]> {
  const r = await nft(["-j", "list", "table", family, "podnet"]);
  expect(r.stderr).toBe("");
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== "object" || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "handle") continue;
      out[k] = k === "elem" && Array.isArray(x) ? x.map((e) => JSON.stringify(strip(e))).sort() : strip(x);
    }
    return out;
  };
  const objects = (JSON.parse(r.stdout) as { nftables: unknown[] }).nftables.filter(
    (o) => !(typeof o === "object" && o !== null && "metainfo" in o),
  );
  return objects.map((o) => JSON.stringify(strip(o))).sort();
}
