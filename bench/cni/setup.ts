/** What must be true before the benchmark starts, and the binaries it compares. */
import { existsSync, readdirSync, statSync } from "node:fs";
import { mustRunSync, runSync } from "../../src/linux/exec.ts";

export const PROJECT_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const DEFAULT_PODNET = `${PROJECT_ROOT}/dist/podnet`;
export const DEFAULT_REFERENCE_DIR = "/usr/lib/cni";

export class PreflightError extends Error {
  override readonly name = "PreflightError";
}

export function preflight(referenceDir: string): void {
  if (process.platform !== "linux")
    throw new PreflightError(
      `The CNI benchmark needs Linux network namespaces (this is ${process.platform})`,
    );
  if (process.getuid?.() !== 0)
    throw new PreflightError(
      "The CNI benchmark needs root: it creates network namespaces (run it with sudo)",
    );
  if (!Bun.which("ip", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` }))
    throw new PreflightError('The CNI benchmark needs iproute2 ("ip")');
  for (const plugin of ["bridge", "host-local"]) {
    if (!existsSync(`${referenceDir}/${plugin}`)) {
      throw new PreflightError(
        `Reference plugin "${referenceDir}/${plugin}" is missing: install containernetworking-plugins or pass --reference-dir`,
      );
    }
  }
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts")) continue;
    newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/**
 * The compiled podnet to measure: built when missing or when asked to. A binary older than the
 * sources is measured as it is (someone may be comparing an old build on purpose) but flagged.
 */
export function ensurePodnetBinary(path: string, rebuild: boolean, warn: (message: string) => void): string {
  if (rebuild || !existsSync(path)) {
    if (path !== DEFAULT_PODNET)
      throw new PreflightError(
        `${path} does not exist (only the default ${DEFAULT_PODNET} is built by the benchmark)`,
      );
    warn(`building ${path}`);
    mustRunSync([`${PROJECT_ROOT}/scripts/build.sh`, path], { cwd: PROJECT_ROOT, timeoutMs: 300_000 });
  } else if (path === DEFAULT_PODNET && statSync(path).mtimeMs < newestMtimeMs(`${PROJECT_ROOT}/src`)) {
    warn(`${path} is older than src/: measuring that older build (pass --build to rebuild first)`);
  }
  return path;
}

export function podnetVersion(exe: string): string {
  const r = runSync([exe, "--version"]);
  return r.code === 0 ? r.stdout.trim() : "unknown";
}

/** Debian's package version when the plugins come from the package; the Go binaries do not know theirs. */
export function referenceVersion(referenceDir: string): string {
  if (referenceDir !== DEFAULT_REFERENCE_DIR) return `from ${referenceDir}`;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Version} is dpkg-query's own format syntax
  const r = runSync(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"]);
  return r.code === 0 && r.stdout.trim() !== ""
    ? `containernetworking-plugins ${r.stdout.trim()}`
    : `from ${referenceDir}`;
}
