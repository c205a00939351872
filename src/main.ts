/**
 * The one podnet executable. Executed by a container runtime (CNI_COMMAND set) it is the CNI
 * plugin — `podnet`, or `podnet-ipam` when installed under that name; otherwise it is the CLI.
 *
 * Both halves are imported lazily: the runtime starts the plugin once per pod operation, and
 * loading the CLI's modules (sockets for the lab, tables...) would add milliseconds to each.
 */
import { readFileSync, writeSync } from "node:fs";
import { basename } from "node:path";

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch {
    return "";
  }
}

function pluginKind(): "podnet" | "podnet-ipam" {
  const names = [process.argv0, process.execPath, process.argv[1] ?? ""].map((p) => basename(p));
  return names.includes("podnet-ipam") ? "podnet-ipam" : "podnet";
}

async function main(): Promise<number> {
  if (process.env.CNI_COMMAND !== undefined) {
    const { runPlugin } = await import("./plugin/run-plugin.ts");
    const out = runPlugin(pluginKind(), process.env, readStdin());
    // A synchronous write: the document must be complete on stdout before we exit.
    if (out.stdout !== "") writeSync(1, `${out.stdout}\n`);
    return out.exitCode;
  }
  const { runCli } = await import("./cli/run-cli.ts");
  return await runCli(process.argv.slice(2));
}

// Not top-level await: the executable is compiled to bytecode, which needs a CommonJS-shaped entry.
main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
