/**
 * Installing the plugin where a runtime looks for it: the plugin's own executable (podnet-cni,
 * built beside the CLI by scripts/build.sh) copied in as `podnet` and `podnet-ipam` — it tells
 * the two apart by the name it was started under. Without a podnet-cni beside it, the CLI copies
 * itself, which answers as the plugin too, only with a slower start-up (bench/cni says how much).
 */
import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, renameSync } from "node:fs";
import { basename, dirname } from "node:path";

export const DEFAULT_CNI_BIN_DIR = "/opt/cni/bin";
export const PLUGIN_NAMES = ["podnet", "podnet-ipam"] as const;
/** The plugin executable's name beside the CLI (dist/podnet-cni). */
export const PLUGIN_EXECUTABLE = "podnet-cni";

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

export interface PluginSource {
  readonly path: string;
  /** False when no podnet-cni sits beside the CLI and the CLI itself is installed. */
  readonly lean: boolean;
}

/** podnet-cni beside this executable, or this executable when there is none. */
export function pluginSource(): PluginSource {
  const self = selfExecutable();
  if (basename(self) === PLUGIN_EXECUTABLE) return { path: self, lean: true };
  const lean = `${dirname(self)}/${PLUGIN_EXECUTABLE}`;
  try {
    accessSync(lean, constants.X_OK);
    return { path: lean, lean: true };
  } catch {
    return { path: self, lean: false };
  }
}

/** Copies atomically (temp file + rename) so nobody ever executes a half-written file. */
export function copyExecutable(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  copyFileSync(from, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, to);
}

export function installPlugins(binDir: string, source: PluginSource = pluginSource()): string[] {
  if (!binDir.startsWith("/") || binDir.split("/").includes("..")) {
    throw new InstallError(
      `Cannot install into "${binDir}": the bin directory must be an absolute path without ".."`,
    );
  }
  mkdirSync(binDir, { recursive: true, mode: 0o755 });
  return PLUGIN_NAMES.map((name) => {
    const target = `${binDir}/${name}`;
    copyExecutable(source.path, target);
    return target;
  });
}
