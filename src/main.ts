/**
 * The podnet command line, dist/podnet. It is also the CNI plugin when executed as one
 * (plugin/plugin-invocation.ts decides: CNI_COMMAND or other CNI_* variables set, the name
 * podnet-ipam, or a network config on stdin), so a plugin directory holding a copy of this
 * executable keeps working; `podnet install-cni` installs the lean dist/podnet-cni instead.
 *
 * Both halves are imported lazily: the CLI's modules (the lab, the datastore clients) are not
 * loaded for a plugin execution, nor the plugin's for a command.
 */
import { decideEntry, looksLikeNetworkConfig } from "./plugin/plugin-invocation.ts";

/** How long `podnet` without arguments waits for a config on a non-terminal stdin. */
const STDIN_CONFIG_WAIT_MS = 300;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const decision = decideEntry({
    args,
    env: process.env,
    programNames: [process.argv0, process.execPath, process.argv[1] ?? ""],
    stdinIsTTY: () => process.stdin.isTTY === true,
  });
  if (decision.mode === "plugin") {
    const { runAsPlugin } = await import("./plugin/plugin-entry.ts");
    return await runAsPlugin(decision.kind, decision.reason);
  }
  if (decision.mode === "stdin") {
    const { readStdinWithin } = await import("./plugin/stdin-peek.ts");
    const text = await readStdinWithin(STDIN_CONFIG_WAIT_MS);
    if (text !== undefined && looksLikeNetworkConfig(text)) {
      const { runAsPlugin } = await import("./plugin/plugin-entry.ts");
      return await runAsPlugin(decision.kind, "stdin holds a network config", text);
    }
  }
  const { runCli } = await import("./cli/run-cli.ts");
  return await runCli(args);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
