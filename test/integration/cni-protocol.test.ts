/**
 * The CNI protocol at the process boundary, with exactly the environment and stdin a runtime
 * would give: VERSION, version and feature negotiation, decoding and environment errors, and
 * exactly one JSON document on stdout whether the plugin succeeds or fails.
 */
import { describe, expect, test } from "bun:test";
import { linkIn, podnetVeths } from "./harness/kernel-state.ts";
import { NETWORK, stdoutJson, type TestNode, useTestNode } from "./harness/test-node.ts";

const SUPPORTED = ["0.4.0", "1.0.0", "1.1.0"];

describe("CNI protocol", () => {
  const node = useTestNode({ pods: 2 });

  const config = (n: TestNode, cniVersion: string): string => {
    const plugin = n.conflist({ cniVersion: "1.1.0" }).plugins[0];
    return JSON.stringify({ ...plugin, cniVersion, name: NETWORK });
  };

  const env = (n: TestNode, command: string, extra: Record<string, string> = {}): Record<string, string> => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: "proto-1",
    CNI_NETNS: n.pod(0).netnsPath,
    CNI_IFNAME: "eth0",
    CNI_PATH: n.binDirs.join(":"),
    ...extra,
  });

  /** A failure: non-zero exit and one error document naming the code. */
  const expectError = (r: { code: number; stdout: string; stderr: string }, code: number, text?: string) => {
    expect(r.code, `stderr: ${r.stderr}`).not.toBe(0);
    const doc = stdoutJson(r);
    expect(doc.code).toBe(code);
    expect(typeof doc.msg).toBe("string");
    expect(typeof doc.cniVersion).toBe("string");
    if (text) expect(String(doc.msg)).toContain(text);
    return doc;
  };

  test.each(["podnet", "podnet-ipam"])(
    "%s answers VERSION with the caller's version and its list",
    async (type) => {
      const n = node();
      for (const v of ["1.0.0", "0.4.0"]) {
        const r = await n.execRaw(type, { CNI_COMMAND: "VERSION" }, JSON.stringify({ cniVersion: v }));
        expect(r.code).toBe(0);
        expect(stdoutJson(r)).toEqual({ cniVersion: v, supportedVersions: SUPPORTED });
      }
      // A runtime may ask with an empty config: the answer is still one document.
      const bare = await n.execRaw(type, { CNI_COMMAND: "VERSION" }, "");
      expect(bare.code).toBe(0);
      expect(stdoutJson(bare).supportedVersions).toEqual(SUPPORTED);
    },
  );

  test("a config version outside supportedVersions fails with code 1", async () => {
    const n = node();
    for (const v of ["0.3.1", "2.0.0"])
      expectError(await n.execRaw("podnet", env(n, "ADD"), config(n, v)), 1, v);
    expect(n.allocations()).toEqual([]);
  });

  test.each(["GC", "STATUS"])("%s with a 1.0.0 config fails with code 1", async (command) => {
    const n = node();
    const main = expectError(await n.execRaw("podnet", env(n, command), config(n, "1.0.0")), 1, command);
    // The error document speaks the caller's version.
    expect(main.cniVersion).toBe("1.0.0");
    expectError(await n.execRaw("podnet-ipam", env(n, command), config(n, "1.0.0")), 1, command);
  });

  test("undecodable JSON fails with code 6", async () => {
    const n = node();
    expectError(await n.execRaw("podnet", env(n, "ADD"), '{"cniVersion": "1.1.0", "name": '), 6);
    expectError(await n.execRaw("podnet-ipam", env(n, "DEL"), "not json"), 6);
  });

  test("missing or invalid CNI_* variables fail with code 4 naming the variable", async () => {
    const n = node();
    const conf = config(n, "1.1.0");
    const { CNI_CONTAINERID: _drop, ...noContainer } = env(n, "ADD");
    expectError(await n.execRaw("podnet", noContainer, conf), 4, "CNI_CONTAINERID");
    const { CNI_NETNS: _dropNetns, ...noNetns } = env(n, "ADD");
    expectError(await n.execRaw("podnet", noNetns, conf), 4, "CNI_NETNS");
    for (const ifname of ["eth0/1", "an-ifname-too-long", "a b"]) {
      expectError(await n.execRaw("podnet", env(n, "ADD", { CNI_IFNAME: ifname }), conf), 4, "CNI_IFNAME");
    }
    expectError(
      await n.execRaw("podnet", env(n, "ADD", { CNI_CONTAINERID: "-bad" }), conf),
      4,
      "CNI_CONTAINERID",
    );
    expectError(await n.execRaw("podnet", env(n, "FROB"), conf), 4, "CNI_COMMAND");
    expectError(await n.execRaw("podnet", env(n, "ADD", { CNI_ARGS: "IP" }), conf), 4, "CNI_ARGS");
    // None of these may have taken an address or made an interface.
    expect(n.allocations()).toEqual([]);
    expect(linkIn(n.pod(0).netns, "eth0")).toBeUndefined();
    expect(podnetVeths(n.netns)).toEqual([]);
  });

  test("success prints exactly one JSON document (ADD) or nothing (DEL), and nothing else", async () => {
    const n = node();
    const conf = config(n, "1.0.0");
    const add = await n.execRaw("podnet", env(n, "ADD", { CNI_NETNS: n.pod(1).netnsPath }), conf);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout.trim().split("\n")).toHaveLength(1);
    expect(stdoutJson(add).cniVersion).toBe("1.0.0");
    const del = await n.execRaw("podnet", env(n, "DEL", { CNI_NETNS: n.pod(1).netnsPath }), conf);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toBe("");
    expect(n.allocations()).toEqual([]);
  });
});
