/**
 * The one podnet executable. Executed by a container runtime (CNI_COMMAND set) it is the CNI
 * plugin — `podnet`, or `podnet-ipam` when installed under that name; otherwise it is the CLI.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { runCli } from "./cli/run-cli.ts";
import type { PluginKind } from "./plugin/run-plugin.ts";
import { runPlugin } from "./plugin/run-plugin.ts";

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch {
    return "";
  }
}

function pluginKind(): PluginKind {
  const names = [process.argv0, process.execPath, process.argv[1] ?? ""].map((p) => basename(p));
  return names.includes("podnet-ipam") ? "podnet-ipam" : "podnet";
}

if (process.env.CNI_COMMAND !== undefined) {
  const out = runPlugin(pluginKind(), process.env, readStdin());
  if (out.stdout !== "") process.stdout.write(`${out.stdout}\n`);
  process.exitCode = out.exitCode;
} else {
  process.exitCode = await runCli(process.argv.slice(2));
}
