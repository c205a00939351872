/**
 * The process around one plugin execution, for both executables that can be the plugin (the
 * lean dist/podnet-cni, installed as /opt/cni/bin/podnet and podnet-ipam, and the CLI dist/podnet
 * when CNI_COMMAND is set): read stdin, execute, write the one answer, return the exit code.
 * Bun's own stdin and stdout: loading node:fs alone costs a plugin start-up milliseconds.
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import { configVersionHint } from "./config-version.ts";
import type { PluginKind } from "./plugin-invocation.ts";
import { executePlugin } from "./plugin-process.ts";

async function readStdin(): Promise<string> {
  try {
    return await Bun.stdin.text();
  } catch {
    // No readable stdin is an empty config: VERSION still answers, the rest fail to decode it.
    return "";
  }
}

export async function runAsPlugin(kind: PluginKind, why: string, stdinText?: string): Promise<number> {
  const stdin = stdinText ?? (await readStdin());
  let out: { exitCode: number; stdout: string };
  try {
    out = await executePlugin(kind, process.env, stdin, why);
  } catch (e) {
    // run-plugin.ts answers every failure of the work itself; this is the frame around it.
    const error = new CniError(ErrorCode.IOFailure, `podnet failed: ${(e as Error).message}`);
    out = { exitCode: 1, stdout: JSON.stringify(error.toJSON(configVersionHint(stdin))) };
  }
  // Awaited: the document must be complete on stdout before the process exits.
  if (out.stdout !== "") await Bun.write(Bun.stdout, `${out.stdout}\n`);
  return out.exitCode;
}
