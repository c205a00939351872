/**
 * The plugin executable's module graph stays the plugin's: whatever src/plugin-main.ts reaches
 * (static or dynamic imports) lives in the plugin's layers, and no npm package (etcd3, gRPC,
 * prom-client) is bundled into the process a runtime starts for every pod operation.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir);
const ALLOWED_FOLDERS = ["plugin", "cni", "node-state", "ipam", "k8s", "linux", "ipnet", "base"];

function reach(entry: string): { files: string[]; external: string[] } {
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const files = new Set<string>();
  const external = new Set<string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    // Type-only imports are erased: they load nothing.
    for (const { path } of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (path.startsWith(".")) queue.push(join(dirname(file), path));
      else external.add(path);
    }
  }
  return { files: [...files].map((f) => relative(SRC, f)), external: [...external].sort() };
}

describe("src/plugin-main.ts", () => {
  const { files, external } = reach(join(SRC, "plugin-main.ts"));

  test("reaches only the plugin's layers", () => {
    const folders = new Set(files.filter((f) => f.includes("/")).map((f) => f.split("/")[0]));
    expect([...folders].filter((f) => !ALLOWED_FOLDERS.includes(f as string))).toEqual([]);
    expect(files).toContain("plugin/run-plugin.ts");
  });

  test("loads no npm package, only Bun's and Node's built-in modules", () => {
    expect(external.filter((m) => !/^(bun:|node:)/.test(m))).toEqual([]);
  });
});
