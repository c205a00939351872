/**
 * The architecture, checked: the layers of docs/architecture.md (the fenced `layers` block) are
 * read from the document itself, and every import in src/ must point down them — no import
 * cycle between files or folders, no pure folder (or the pure files of a folder) reaching I/O
 * or anything that does.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const SRC = join(ROOT, "src");

interface Layer {
  readonly folder: string;
  readonly rank: number;
  /** Whether the folder's code is pure; `impure` lists its files that are not. */
  readonly pure: boolean;
  readonly impure: readonly string[];
}

/** Parses the `layers` block: one folder a line, top first; `pure` and `impure: a.ts b.ts` flags. */
export function parseLayers(markdown: string): Layer[] {
  const block = /```layers\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (block === undefined) throw new Error("docs/architecture.md has no ```layers block");
  return block
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l !== "")
    .map((line, rank) => {
      const [folder = "", ...flags] = line.split(/\s+/);
      const impureAt = flags.indexOf("impure:");
      return {
        folder: folder.replace(/\/$/, ""),
        rank,
        pure: flags.includes("pure"),
        impure: impureAt >= 0 ? flags.slice(impureAt + 1) : [],
      };
    });
}

/** Module specifiers a TypeScript file imports (static, type-only, re-exports and dynamic). */
export function importsOf(source: string): string[] {
  const specs: string[] = [];
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;"']*?(?:from\s*)?["']([^"']+)["']/gm))
    specs.push(m[1] as string);
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1] as string);
  return specs;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "golden" ? [] : sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** The top folder of a file under src/ ("" for src/main.ts). */
const folderOf = (file: string) => {
  const parts = relative(SRC, file).split("/");
  return parts.length > 1 ? (parts[0] as string) : "";
};

/** Modules that reach the host: files, processes, sockets, the kernel, databases. */
const IO_MODULES =
  /^(node:)?(fs|fs\/promises|child_process|net|dgram|http|https|os|worker_threads)$|^bun(:.*)?$/;
/** Globals a pure file must not use either (Bun's I/O, the process' environment). */
const IO_GLOBALS =
  /\bBun\.(spawn|spawnSync|file|write|serve|connect|listen|udpSocket)\b|\bprocess\.(env|pid|argv)\b|\bfetch\(/;

interface Graph {
  readonly files: readonly string[];
  readonly edges: ReadonlyMap<string, readonly string[]>;
  readonly external: ReadonlyMap<string, readonly string[]>;
}

function buildGraph(): Graph {
  const files = sourceFiles(SRC);
  const edges = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  for (const file of files) {
    const specs = importsOf(readFileSync(file, "utf8"));
    edges.set(
      file,
      specs.filter((s) => s.startsWith(".")).map((s) => resolve(dirname(file), s)),
    );
    external.set(
      file,
      specs.filter((s) => !s.startsWith(".")),
    );
  }
  return { files, edges, external };
}

/** Strongly connected components with more than one member (Tarjan), i.e. the cycles. */
function cycles(nodes: readonly string[], next: (n: string) => readonly string[]): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next(v).includes(v)) found.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) visit(n);
  return found;
}

const layers = parseLayers(readFileSync(join(ROOT, "docs/architecture.md"), "utf8"));
const byFolder = new Map(layers.map((l) => [l.folder, l]));
const graph = buildGraph();
const rel = (f: string) => relative(SRC, f);

describe("the import graph of src/", () => {
  test("every folder of src/ is a layer in docs/architecture.md, and every layer a folder", () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(folders).toEqual(layers.map((l) => l.folder).sort());
  });

  test("no import cycle between files", () => {
    const found = cycles(graph.files, (f) => graph.edges.get(f) ?? []).map((c) => c.map(rel));
    expect(found).toEqual([]);
  });

  test("no import cycle between folders", () => {
    const folders = [...new Set(graph.files.map(folderOf))];
    const next = (d: string) => [
      ...new Set(
        graph.files
          .filter((f) => folderOf(f) === d)
          .flatMap((f) => (graph.edges.get(f) ?? []).map(folderOf))
          .filter((t) => t !== d),
      ),
    ];
    expect(cycles(folders, next)).toEqual([]);
  });

  test("imports point down the layers", () => {
    const wrong: string[] = [];
    for (const file of graph.files) {
      const from = byFolder.get(folderOf(file));
      if (from === undefined) continue; // src/main.ts, the entry point, sits above every layer
      for (const target of graph.edges.get(file) ?? []) {
        const to = byFolder.get(folderOf(target));
        if (to === undefined) wrong.push(`${rel(file)} → ${relative(ROOT, target)} (outside the layers)`);
        else if (to.rank < from.rank)
          wrong.push(`${rel(file)} → ${rel(target)} (${to.folder} is above ${from.folder})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("pure code imports only pure code and does no I/O", () => {
    const isPure = (file: string) => {
      const layer = byFolder.get(folderOf(file));
      if (layer === undefined || !layer.pure) return false;
      return !layer.impure.includes(relative(join(SRC, layer.folder), file));
    };
    const wrong: string[] = [];
    for (const file of graph.files.filter(isPure)) {
      for (const target of graph.edges.get(file) ?? [])
        if (!isPure(target)) wrong.push(`${rel(file)} imports ${rel(target)}, which is not pure`);
      for (const spec of graph.external.get(file) ?? [])
        if (IO_MODULES.test(spec)) wrong.push(`${rel(file)} imports ${spec}`);
      const io = IO_GLOBALS.exec(readFileSync(file, "utf8"));
      if (io) wrong.push(`${rel(file)} uses ${io[0]}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("docs/architecture.md", () => {
  test("every file and folder it names exists", () => {
    const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
    const named = [...doc.matchAll(/`([a-z0-9-]+\/[a-z0-9./-]*)`/g)].map((m) => m[1] as string);
    expect(named.length).toBeGreaterThan(30);
    // Paths are relative to src/ unless they start with a top-level folder of the repository.
    const missing = named.filter((path) => {
      const top = ["src/", "test/", "bench/", "testkit/", "docs/", "scripts/"].some((t) =>
        path.startsWith(t),
      );
      return !existsSync(join(top ? ROOT : SRC, path));
    });
    expect(missing).toEqual([]);
  });
});

describe("the checks themselves", () => {
  test("find imports of every form and ignore commented ones", () => {
    const source = [
      'import { a } from "./a.ts";',
      'import type { B } from "../b/b.ts";',
      'export { c } from "./c.ts";',
      'import "./side-effect.ts";',
      "import {",
      "  d,",
      '} from "node:fs";',
      'const e = await import("./e.ts");',
      '// import { x } from "./commented.ts";',
      '/* import { y } from "./block.ts"; */',
    ].join("\n");
    expect(importsOf(source)).toEqual([
      "./a.ts",
      "../b/b.ts",
      "./c.ts",
      "./side-effect.ts",
      "node:fs",
      "./e.ts",
    ]);
  });

  test("find a cycle of three and not a chain", () => {
    const g: Record<string, string[]> = { a: ["b"], b: ["c"], c: ["a"], d: ["a"] };
    expect(cycles(Object.keys(g), (n) => g[n] ?? [])).toEqual([["a", "b", "c"]]);
    const chain: Record<string, string[]> = { a: ["b"], b: ["c"], c: [] };
    expect(cycles(Object.keys(chain), (n) => chain[n] ?? [])).toEqual([]);
  });

  test("read the layers block with its flags", () => {
    const doc = "text\n```layers\ncli/\nproxy   impure: service-proxy.ts x.ts  # comment\nipnet  pure\n```\n";
    expect(parseLayers(doc)).toEqual([
      { folder: "cli", rank: 0, pure: false, impure: [] },
      { folder: "proxy", rank: 1, pure: false, impure: ["service-proxy.ts", "x.ts"] },
      { folder: "ipnet", rank: 2, pure: true, impure: [] },
    ]);
  });
});
