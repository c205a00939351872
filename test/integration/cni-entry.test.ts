/**
 * How the executables decide to be the plugin, run as a runtime (or a confused user) runs them:
 * executed as a plugin without CNI_COMMAND, the answer is one CNI error document (code 4) on
 * stdout, never the CLI's usage; the CLI with arguments stays the CLI, and a stdin nobody writes
 * never hangs it. The installed plugin is the lean executable, and the CLI still does a whole
 * ADD and DEL when a runtime executes it with CNI_COMMAND (older installations copied the CLI).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { PODNET, PODNET_CNI } from "../../testkit/podnet-build.ts";
import { stopProcess } from "../../testkit/stop-process.ts";
import { podnetVeths } from "./harness/kernel-state.ts";
import { NETWORK, type RawRun, stdoutJson, type TestNode, useTestNode } from "./harness/test-node.ts";

/** A failure document for a missing CNI_COMMAND, in `cniVersion`. */
function expectMissingCommand(r: RawRun, cniVersion: string, why: string): void {
  expect(r.code, `stderr: ${r.stderr}`).not.toBe(0);
  expect(r.stdout.trim().split("\n"), "exactly one document").toHaveLength(1);
  const doc = stdoutJson(r);
  expect(doc).toMatchObject({ cniVersion, code: 4 });
  expect(String(doc.msg)).toContain("CNI_COMMAND is not set");
  expect(String(doc.details)).toContain(why);
  expect(r.stdout).not.toContain("usage");
}

describe("the plugin's entry point", () => {
  const node = useTestNode({ pods: 1 });

  const config = (n: TestNode, cniVersion: string): string => {
    const plugin = n.conflist({ cniVersion: "1.1.0" }).plugins[0];
    return JSON.stringify({ ...plugin, cniVersion, name: NETWORK });
  };

  test("install-cni installs the lean plugin executable as podnet and podnet-ipam", () => {
    const n = node();
    const lean = readFileSync(PODNET_CNI);
    expect(readFileSync(`${n.binDir}/podnet`).equals(lean)).toBe(true);
    expect(readFileSync(`${n.binDir}/podnet-ipam`).equals(lean)).toBe(true);
    expect(lean.equals(readFileSync(PODNET))).toBe(false);
  });

  test("the installed plugin without CNI_COMMAND answers code 4 in the config's version", async () => {
    const n = node();
    const vars = { CNI_CONTAINERID: "entry-1", CNI_NETNS: n.pod(0).netnsPath, CNI_IFNAME: "eth0" };
    expectMissingCommand(await n.execRaw("podnet", vars, config(n, "1.0.0")), "1.0.0", "plugin");
    expectMissingCommand(await n.execRaw("podnet", {}, config(n, "0.4.0")), "0.4.0", "plugin");
    // podnet-ipam with nothing at all: still one document, in the latest version.
    expectMissingCommand(await n.execRaw("podnet-ipam", {}, ""), "1.1.0", "podnet-ipam");
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
  });

  test("the CLI executed as a plugin without CNI_COMMAND answers code 4 too", async () => {
    const n = node();
    // A network config on stdin, no arguments, no CNI_* variable.
    expectMissingCommand(
      await n.execRaw(PODNET, {}, config(n, "1.0.0")),
      "1.0.0",
      "stdin holds a network config",
    );
    // Other CNI_* variables, no arguments (stdin holds nothing useful).
    expectMissingCommand(
      await n.execRaw(PODNET, { CNI_PATH: n.binDirs.join(":"), CNI_IFNAME: "eth0" }, ""),
      "1.1.0",
      "CNI_IFNAME, CNI_PATH are set",
    );
  });

  test("with arguments the CLI stays the CLI, also with CNI_PATH exported and a config on stdin", () => {
    const n = node();
    const version = Bun.spawnSync([PODNET, "version"], {
      stdin: new Blob([config(n, "1.0.0")]),
      env: { CNI_PATH: "/opt/cni/bin" },
    });
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("without arguments, a stdin that is empty or never written gets the usage, not a hang", async () => {
    const empty = Bun.spawnSync([PODNET], { stdin: new Blob([]), env: {} });
    expect(empty.exitCode).toBe(2);
    expect(empty.stdout.toString()).toContain("usage");
    // The caller keeps the pipe open and writes nothing.
    const open = Bun.spawn([PODNET], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: {} });
    try {
      const stdout = await new Response(open.stdout).text();
      expect(await open.exited).toBe(2);
      expect(stdout).toContain("usage");
    } finally {
      await stopProcess(open, "SIGKILL", 1000);
    }
  });

  test("the CLI executed by a runtime with CNI_COMMAND still attaches and detaches a pod", async () => {
    const n = node();
    const pod = n.pod(0);
    const env = (command: string) => ({
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: pod.netnsPath,
      CNI_IFNAME: pod.ifname,
      CNI_PATH: n.binDirs.join(":"),
      PODNET_AGENT: "0",
    });
    const add = await n.execRaw(PODNET, env("ADD"), config(n, "1.0.0"));
    expect(add.code, add.stderr).toBe(0);
    const result = stdoutJson(add) as { ips: { address: string }[] };
    expect(n.allocations().map((a) => a.containerId)).toEqual([pod.containerId]);
    expect(result.ips[0]?.address).toStartWith("10.99.0.");
    expect(podnetVeths(n.netns)).toHaveLength(1);
    const del = await n.execRaw(PODNET, env("DEL"), config(n, "1.0.0"));
    expect(del.code, del.stderr).toBe(0);
    expect(n.allocations()).toEqual([]);
    expect(podnetVeths(n.netns)).toEqual([]);
  });
});
