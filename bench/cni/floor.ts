/**
 * The start-up floor: a trivial program compiled the way podnet's executables are (scripts/build.sh's
 * flags), built by the run into its own directory. It answers VERSION without reading its input, so
 * its VERSION time is what any compiled Bun program costs to start and exit here, and its peak RSS
 * what it costs in memory; podnet's VERSION less the floor's is what podnet's own code costs.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { mustRunSync } from "../../src/linux/exec.ts";

const SOURCE = `console.log('{"cniVersion":"1.1.0","supportedVersions":["1.1.0"]}');\n`;
const REPO = resolve(import.meta.dir, "../..");

/** Builds the floor program in `dir` with the repository's Bun; returns its path. */
export function buildFloor(dir: string): string {
  const source = `${dir}/floor.ts`;
  const exe = `${dir}/floor`;
  writeFileSync(source, SOURCE);
  mustRunSync(
    [
      `${REPO}/node_modules/.bin/bun`,
      "build",
      "--compile",
      "--minify",
      "--bytecode",
      "--format=esm",
      "--splitting",
      source,
      "--outfile",
      exe,
    ],
    { cwd: dir, timeoutMs: 120_000 },
  );
  return exe;
}
