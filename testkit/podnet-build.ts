/**
 * The executables the integration tests and the benchmarks run — dist/podnet (the CLI) and
 * dist/podnet-cni (the plugin, built beside it by scripts/build.sh) — and whether they are
 * older than the sources. The tests rebuild a stale one (they must never exercise stale code);
 * the benchmarks measure the build they are given and only warn (someone may be comparing an old
 * build on purpose).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { mustRunSync, runSync } from "../src/linux/exec.ts";

export const REPO = resolve(import.meta.dir, "..");
export const PODNET = `${REPO}/dist/podnet`;
/** The plugin executable scripts/build.sh writes beside a CLI built at `cli`. */
export const pluginBeside = (cli: string): string => `${dirname(cli)}/podnet-cni`;
export const PODNET_CNI = pluginBeside(PODNET);

/** The newest modification time of the sources the executable is built from (tests excluded). */
function newestSourceMtimeMs(): number {
  let newest = 0;
  for (const entry of readdirSync(`${REPO}/src`, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith(".test.ts")) continue;
    newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/** The CLI or the plugin beside it is missing or older than the sources. */
function isStale(cli: string): boolean {
  const newest = newestSourceMtimeMs();
  return [cli, pluginBeside(cli)].some((exe) => !existsSync(exe) || statSync(exe).mtimeMs < newest);
}

/** Builds the CLI at `path` and the plugin beside it with scripts/build.sh (bundled, minified, bytecode). */
function build(path: string): void {
  mustRunSync([`${REPO}/scripts/build.sh`, path], { cwd: REPO, timeoutMs: 300_000 });
}

export class PodnetBinaryError extends Error {
  override readonly name = "PodnetBinaryError";
}

let built = false;

/** For the tests: builds dist/podnet and dist/podnet-cni when missing or older than the sources (once per process). */
export function ensurePodnetBuilt(): string {
  if (built) return PODNET;
  if (isStale(PODNET)) {
    try {
      build(PODNET);
    } catch (e) {
      throw new PodnetBinaryError(`Cannot build ${PODNET} (run "npm run build"): ${(e as Error).message}`);
    }
  }
  built = true;
  return PODNET;
}

/**
 * For the benchmarks: the podnet to measure, built when it is dist/podnet and missing or when
 * `rebuild` asks for it; a dist/podnet older than the sources is measured as it is, with a warning.
 */
export function ensurePodnetBinary(path: string, rebuild: boolean, warn: (message: string) => void): string {
  if (rebuild || !existsSync(path) || (path === PODNET && !existsSync(PODNET_CNI))) {
    if (path !== PODNET)
      throw new PodnetBinaryError(
        `${path} does not exist (only the default ${PODNET} is built by the benchmark)`,
      );
    warn(`building ${path}`);
    build(path);
  } else if (path === PODNET && isStale(path)) {
    warn(`${path} is older than src/: measuring that older build (pass --build to rebuild first)`);
  }
  return path;
}

/** What `podnet --version` says, for a report: which build the figures belong to. */
export function podnetVersion(exe: string): string {
  const r = runSync([exe, "--version"]);
  return r.code === 0 ? r.stdout.trim() : "unknown";
}
