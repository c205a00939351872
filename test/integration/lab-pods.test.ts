/**
 * `podnet lab pod add|delete` run at the same time from two processes (a user in two terminals,
 * the browser tests): each holds the lab state's lock from reading state.json to writing it, so
 * both pods are recorded (and attached), and both deletes take effect. On a 2-node lab in a lab
 * root of its own, removed with `lab down` at the end.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import type { LabState } from "../../src/lab/lab-state.ts";
import { runSync } from "../../src/linux/exec.ts";
import { listNetns } from "../../src/linux/netns.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../testkit/podnet-build.ts";

const labRoot = `/tmp/l5-lab-${Math.floor(Math.random() * 1_000_000)}`;
const env = { PODNET_LAB_ROOT: labRoot };

function podnet(...args: string[]) {
  return runSync([PODNET, ...args], { env, timeoutMs: 180_000 });
}

function tearDown(): void {
  podnet("lab", "down");
  rmSync(labRoot, { recursive: true, force: true });
}

const readState = () => JSON.parse(readFileSync(`${labRoot}/state.json`, "utf8")) as LabState;

/** Runs several podnet commands at once, as separate processes; their exit codes and output. */
async function together(...commands: string[][]): Promise<{ code: number; out: string }[]> {
  const procs = commands.map((args) =>
    Bun.spawn([PODNET, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" }),
  );
  return await Promise.all(
    procs.map(async (p) => {
      const [stdout, stderr] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
      ]);
      return { code: await p.exited, out: `${stdout}${stderr}` };
    }),
  );
}

let undispose: () => void = () => {};

beforeAll(() => {
  ensurePodnetBuilt();
  undispose = disposeOnExit(tearDown, `removing the lab in ${labRoot}`);
  const up = podnet("lab", "up", "--nodes", "2", "--pods", "1");
  if (up.code !== 0) throw new Error(`lab up exited ${up.code}: ${up.stderr.trim()}`);
});

afterAll(() => {
  tearDown();
  undispose();
});

describe("lab pod add|delete from two processes at once", () => {
  test("two adds: both pods are recorded in state.json and attached", async () => {
    const before = readState().pods.map((p) => p.name);
    const results = await together(
      ["lab", "pod", "add", "node1", "left"],
      ["lab", "pod", "add", "node2", "right"],
    );
    for (const r of results) expect(r).toMatchObject({ code: 0 });
    const state = readState();
    expect(state.pods.map((p) => p.name).sort()).toEqual([...before, "left", "right"].sort());
    const namespaces = listNetns();
    for (const name of ["left", "right"]) {
      const pod = state.pods.find((p) => p.name === name);
      expect(pod?.node).toBe(name === "left" ? "node1" : "node2");
      expect(namespaces).toContain(pod?.netns as string);
    }
  });

  test("two adds of one name: one pod, the other add refused", async () => {
    const results = await together(
      ["lab", "pod", "add", "node1", "twin"],
      ["lab", "pod", "add", "node2", "twin"],
    );
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    expect(results.find((r) => r.code === 1)?.out).toContain("twin");
    expect(readState().pods.filter((p) => p.name === "twin")).toHaveLength(1);
  });

  test("two deletes: both pods leave state.json and their namespaces are removed", async () => {
    const gone = readState().pods.filter((p) => ["left", "right"].includes(p.name));
    const results = await together(["lab", "pod", "delete", "left"], ["lab", "pod", "delete", "right"]);
    for (const r of results) expect(r).toMatchObject({ code: 0 });
    const names = readState().pods.map((p) => p.name);
    expect(names).not.toContain("left");
    expect(names).not.toContain("right");
    const namespaces = listNetns();
    for (const pod of gone) expect(namespaces).not.toContain(pod.netns);
  });

  test("lab down removes the lock file with the lab root", () => {
    expect(existsSync(`${labRoot}/state.lock`)).toBe(true);
    const down = podnet("lab", "down");
    expect(down.code).toBe(0);
    expect(existsSync(labRoot)).toBe(false);
  });
});
