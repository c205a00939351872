/**
 * The executable under test, dist/podnet: built once per test process when it is missing or older
 * than the sources, so an integration run never exercises stale code.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { runSync } from "../../src/linux/exec.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const PODNET = `${REPO}/dist/podnet`;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let built = false;

/** Builds dist/podnet when it is missing or older than any file under src/ (once per process). */
export function ensurePodnetBuilt(): string {
  if (built) return PODNET;
  const stale = !existsSync(PODNET) || statSync(PODNET).mtimeMs < newestMtime(`${REPO}/src`);
  if (stale) {
    const r = runSync([`${REPO}/scripts/build.sh`, PODNET], { cwd: REPO, timeoutMs: 120_000 });
    if (r.code !== 0) {
      throw new Error(`Cannot build ${PODNET} (run "npm run build"): ${r.stderr.trim() || r.stdout.trim()}`);
    }
  }
  built = true;
  return PODNET;
}
