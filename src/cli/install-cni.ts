/** `podnet install-cni [--bin-dir DIR]`: copy this executable in as `podnet` and `podnet-ipam`. */
import { chmodSync, copyFileSync, mkdirSync, renameSync } from "node:fs";
import { basename } from "node:path";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";

export const DEFAULT_CNI_BIN_DIR = "/opt/cni/bin";

/** The compiled executable; refuses to install a bare runtime (running from source). */
export function selfExecutable(): string {
  const exe = process.execPath;
  if (/^bun(-debug)?$/.test(basename(exe)) || basename(exe) === "node") {
    throw new UsageError(
      `install-cni needs the compiled podnet executable (this is "${exe}"); run "npm run build" and use dist/podnet`,
    );
  }
  return exe;
}

/** Copies atomically (temp file + rename) so a runtime never executes a half-written plugin. */
export function installPlugins(binDir: string): string[] {
  if (!binDir.startsWith("/") || binDir.split("/").includes(".."))
    throw new UsageError(`--bin-dir "${binDir}" must be an absolute path without ".."`);
  const exe = selfExecutable();
  mkdirSync(binDir, { recursive: true, mode: 0o755 });
  const installed: string[] = [];
  for (const name of ["podnet", "podnet-ipam"]) {
    const target = `${binDir}/${name}`;
    const tmp = `${target}.tmp-${process.pid}`;
    copyFileSync(exe, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
    installed.push(target);
  }
  return installed;
}

export function installCniCommand(args: ParsedArgs): number {
  assertKnownFlags(args, ["bin-dir"]);
  for (const path of installPlugins(flag(args, "bin-dir") ?? DEFAULT_CNI_BIN_DIR))
    console.log(`installed ${path}`);
  return 0;
}
