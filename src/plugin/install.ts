/**
 * Installing the plugin where a runtime looks for it: this one executable, copied in as `podnet`
 * and `podnet-ipam` (it tells the two apart by the name it was started under).
 */
import { chmodSync, copyFileSync, mkdirSync, renameSync } from "node:fs";
import { basename } from "node:path";

export const DEFAULT_CNI_BIN_DIR = "/opt/cni/bin";
export const PLUGIN_NAMES = ["podnet", "podnet-ipam"] as const;

export class InstallError extends Error {
  override readonly name = "InstallError";
}

/** The compiled executable; refuses to install a bare runtime (when running from source). */
export function selfExecutable(): string {
  const exe = process.execPath;
  if (/^bun(-debug)?$/.test(basename(exe)) || basename(exe) === "node") {
    throw new InstallError(
      `Cannot install the plugin from "${exe}": it needs the compiled podnet executable (run "npm run build" and use dist/podnet)`,
    );
  }
  return exe;
}

/** Copies atomically (temp file + rename) so a runtime never executes a half-written plugin. */
export function installPlugins(binDir: string): string[] {
  if (!binDir.startsWith("/") || binDir.split("/").includes("..")) {
    throw new InstallError(
      `Cannot install into "${binDir}": the bin directory must be an absolute path without ".."`,
    );
  }
  const exe = selfExecutable();
  mkdirSync(binDir, { recursive: true, mode: 0o755 });
  return PLUGIN_NAMES.map((name) => {
    const target = `${binDir}/${name}`;
    const tmp = `${target}.tmp-${process.pid}`;
    copyFileSync(exe, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
    return target;
  });
}
