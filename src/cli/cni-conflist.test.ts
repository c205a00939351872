import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "./args.ts";
import { cniConflistCommand } from "./cni-conflist.ts";

function conflist(line: string): Record<string, unknown> {
  const printed: string[] = [];
  expect(cniConflistCommand(parseArgs(line.split(" ")), (t) => printed.push(t))).toBe(0);
  expect(printed).toHaveLength(1);
  return JSON.parse(printed[0] as string) as Record<string, unknown>;
}

describe("podnet cni conflist", () => {
  test("by default declares 1.0.0 for older runtimes and offers 1.1.0 to newer ones", () => {
    const c = conflist("--name mynet --subnet 10.88.0.0/24 --chain portmap");
    expect(c.cniVersion).toBe("1.0.0");
    expect(c.cniVersions).toEqual(["1.0.0", "1.1.0"]);
    expect((c.plugins as { type: string }[]).map((p) => p.type)).toEqual(["podnet", "portmap"]);
  });

  test("--cni-version writes exactly that version", () => {
    for (const v of ["0.4.0", "1.0.0", "1.1.0"]) {
      const c = conflist(`--name mynet --subnet 10.88.0.0/24 --cni-version ${v}`);
      expect(c.cniVersion).toBe(v);
      expect(c).not.toHaveProperty("cniVersions");
    }
  });

  test("refuses a version the plugin does not support, naming the ones it does", () => {
    const run = () =>
      cniConflistCommand(parseArgs("--name n --subnet 10.88.0.0/24 --cni-version 0.3.1".split(" ")));
    expect(run).toThrow(UsageError);
    expect(run).toThrow('--cni-version "0.3.1" must be one of 0.4.0, 1.0.0, 1.1.0');
  });
});
