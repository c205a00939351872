import { describe, expect, test } from "bun:test";
import type { ProcessFacts } from "./plugin-invocation.ts";
import { decideEntry, looksLikeNetworkConfig, pluginKindOf } from "./plugin-invocation.ts";

const facts = (over: Partial<ProcessFacts> = {}): ProcessFacts => ({
  args: [],
  env: {},
  programNames: ["/usr/local/bin/podnet", "/usr/local/bin/podnet"],
  stdinIsTTY: () => false,
  ...over,
});

describe("decideEntry", () => {
  test("CNI_COMMAND means the plugin, with or without arguments", () => {
    expect(decideEntry(facts({ env: { CNI_COMMAND: "ADD" } }))).toMatchObject({
      mode: "plugin",
      kind: "podnet",
    });
    expect(decideEntry(facts({ env: { CNI_COMMAND: "" }, args: ["lab", "status"] }))).toMatchObject({
      mode: "plugin",
    });
  });

  test("the name podnet-ipam has no CLI", () => {
    const ipam = facts({ programNames: ["/opt/cni/bin/podnet-ipam"], args: ["--help"] });
    expect(decideEntry(ipam)).toEqual({
      mode: "plugin",
      kind: "podnet-ipam",
      reason: "it was executed as podnet-ipam",
    });
  });

  test("other CNI_* variables mean the plugin only without arguments", () => {
    const env = { CNI_PATH: "/opt/cni/bin", CNI_IFNAME: "eth0", HOME: "/root" };
    expect(decideEntry(facts({ env }))).toEqual({
      mode: "plugin",
      kind: "podnet",
      reason: "CNI_IFNAME, CNI_PATH are set",
    });
    // A user who exported CNI_PATH (for cnitool) keeps the command line.
    expect(decideEntry(facts({ env, args: ["lab", "status"] }))).toEqual({ mode: "cli" });
  });

  test("arguments without CNI variables are the CLI, and stdin is never looked at", () => {
    let asked = false;
    const tty = () => {
      asked = true;
      return false;
    };
    expect(decideEntry(facts({ args: ["lab", "status"], stdinIsTTY: tty }))).toEqual({ mode: "cli" });
    expect(asked).toBe(false);
  });

  test("no arguments: stdin decides unless it is a terminal", () => {
    expect(decideEntry(facts())).toEqual({ mode: "stdin", kind: "podnet" });
    expect(decideEntry(facts({ stdinIsTTY: () => true }))).toEqual({ mode: "cli" });
  });
});

describe("pluginKindOf", () => {
  test("by any of the names, whatever the directory", () => {
    expect(pluginKindOf(["podnet-ipam"])).toBe("podnet-ipam");
    expect(pluginKindOf(["bun", "/tmp/x/podnet-ipam"])).toBe("podnet-ipam");
    expect(pluginKindOf(["/opt/cni/bin/podnet", "/opt/cni/bin/podnet"])).toBe("podnet");
    expect(pluginKindOf(["/opt/podnet-ipam-tools/podnet"])).toBe("podnet");
  });
});

describe("looksLikeNetworkConfig", () => {
  test.each([
    ['{"cniVersion": "1.0.0", "name": "n", "type": "podnet"}', true],
    ['{"type": "podnet"}', true],
    ['{"cniVersion": "1.0.0", "name": "n", "plugins": []}', true],
    ['  \n{"cniVersion": "0.4.0"}\n', true],
    ['{"name": "n"}', false],
    ["[1, 2]", false],
    ["lab status", false],
    ['{"cniVersion": ', false],
    ["", false],
  ])("%j → %p", (text, expected) => {
    expect(looksLikeNetworkConfig(text)).toBe(expected);
  });
});
