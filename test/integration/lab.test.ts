/**
 * The main job end to end: `podnet lab up → status → exec → check → down` with the compiled
 * executable, in a lab root of its own, leaving no namespace or interface behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { runSync } from "../../src/linux/exec.ts";
import { listNetns } from "../../src/linux/netns.ts";

const root = process.cwd();
const exe = `${root}/dist/podnet`;
const labRoot = mkdtempSync(`${tmpdir()}/podnet-lab-test-`);

function podnet(...args: string[]) {
  return runSync([exe, ...args], { env: { PODNET_LAB_ROOT: labRoot }, timeoutMs: 120_000 });
}

function labNamespaces(): string[] {
  return listNetns().filter((n) => n.startsWith("pnlab-"));
}

function rootLinks(): string[] {
  const r = runSync(["ip", "-j", "link", "show"]);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname).sort();
}

let before: { ns: string[]; links: string[] };

beforeAll(() => {
  if (!Bun.file(exe).size) throw new Error(`${exe} is missing: run "npm run build" (scripts/test.sh does)`);
  before = { ns: labNamespaces(), links: rootLinks() };
});

afterAll(() => {
  podnet("lab", "down");
  rmSync(labRoot, { recursive: true, force: true });
});

for (const mode of ["bridge", "ptp"] as const) {
  describe(`lab in ${mode} mode`, () => {
    test("up, status, exec and check prove every claim; down removes everything", () => {
      const up = podnet("lab", "up", "--mode", mode, "--pods", "3");
      expect(up.stderr).toBe("");
      expect(up.code).toBe(0);
      const created = labNamespaces().filter((n) => !before.ns.includes(n));
      expect(created.length).toBe(4); // one node, three pods

      const status = podnet("lab", "status");
      expect(status.code).toBe(0);
      const rows = status.stdout.trim().split("\n").slice(1);
      expect(rows.length).toBe(3);
      const cells = rows.map((r) => r.split(/\s+/));
      const ips = cells.map((c) => c[2]);
      expect(new Set(ips).size).toBe(3);
      for (const ip of ips) expect(ip).toMatch(/^10\.244\.1\.\d+$/);

      // exec runs in the named pod: the eth0 it shows holds exactly the address status lists for
      // node1-b (and none of the other pods').
      const ipOfB = cells.find((c) => c[1] === "node1-b")?.[2];
      expect(ipOfB).toMatch(/^10\.244\.1\.\d+$/);
      const exec = podnet("lab", "exec", "node1-b", "--", "ip", "-j", "-4", "addr", "show", "dev", "eth0");
      expect(exec.code).toBe(0);
      expect(exec.stdout).toContain(`"${ipOfB}"`);
      const shown = (JSON.parse(exec.stdout) as { addr_info: { local: string }[] }[]).flatMap((l) =>
        l.addr_info.map((a) => a.local),
      );
      expect(shown).toEqual([ipOfB as string]);

      const check = podnet("lab", "check");
      expect(check.stdout).toContain("all 5 claims hold");
      expect(check.stdout).not.toContain("✗");
      expect(check.code).toBe(0);

      const down = podnet("lab", "down");
      expect(down.code).toBe(0);
      expect(labNamespaces().filter((n) => !before.ns.includes(n))).toEqual([]);
      expect(rootLinks()).toEqual(before.links);
    });
  });
}

test("check fails with ✗ and a non-zero exit when a pod loses its address", () => {
  expect(podnet("lab", "up", "--pods", "2").code).toBe(0);
  const ns = labNamespaces().find((n) => n.endsWith("-node1-b"));
  expect(ns).toBeDefined();
  runSync(["ip", "-n", ns as string, "addr", "flush", "dev", "eth0"]);
  const check = podnet("lab", "check");
  expect(check.code).toBe(1);
  expect(check.stdout).toContain("✗ every pod has its own IP address");
  expect(podnet("lab", "down").code).toBe(0);
});

test("down after a crashed up (no state saved) still removes the lab's namespaces", () => {
  expect(podnet("lab", "up", "--pods", "2").code).toBe(0);
  rmSync(`${labRoot}/state.json`); // as if `up` died before saving its state
  expect(podnet("lab", "down").code).toBe(0);
  expect(labNamespaces().filter((n) => !before.ns.includes(n))).toEqual([]);
});

test("a second up while a lab is running is refused", () => {
  expect(podnet("lab", "up", "--pods", "2").code).toBe(0);
  const again = podnet("lab", "up");
  expect(again.code).toBe(1);
  expect(again.stderr).toContain("already up");
  expect(podnet("lab", "down").code).toBe(0);
});
