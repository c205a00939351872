/**
 * One plugin execution, as a process: the answer for a missing CNI_COMMAND, VERSION at once,
 * the operation handed to the node agent when one serves this config's state, and otherwise the
 * work done here (run-plugin.ts, imported only then: its module graph is the plugin's cost).
 * Whatever happens, exactly one JSON document (or nothing, for a successful DEL) goes to stdout.
 */
import { COMMANDS } from "../cni/env.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { versionResult } from "../cni/version.ts";
import { agentSocketFor, PROTOCOL_VERSION } from "./agent-protocol.ts";
import { relayToAgent } from "./agent-relay.ts";
import { configVersionHint } from "./config-version.ts";
import type { PluginKind } from "./plugin-invocation.ts";
// Type only: erased from the bundle, so run-plugin.ts's modules load only when the work is done here.
import type { PluginOutput } from "./run-plugin.ts";

function failure(stdin: string, error: CniError): PluginOutput {
  return { exitCode: 1, stdout: JSON.stringify(error.toJSON(configVersionHint(stdin))) };
}

/** Executed as a plugin (see plugin-invocation.ts for why) but without the one variable that says what to do. */
export function missingCommand(stdin: string, why: string): PluginOutput {
  return failure(
    stdin,
    new CniError(
      ErrorCode.InvalidEnvironment,
      "CNI_COMMAND is not set",
      `podnet was executed as a CNI plugin (${why}) without a command; a runtime sets CNI_COMMAND to one of ${COMMANDS.join(", ")}`,
    ),
  );
}

async function runHere(
  kind: PluginKind,
  env: Record<string, string | undefined>,
  stdin: string,
): Promise<PluginOutput> {
  const { runPlugin } = await import("./run-plugin.ts");
  return runPlugin(kind, env, stdin);
}

function stringEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

export async function executePlugin(
  kind: PluginKind,
  env: Record<string, string | undefined>,
  stdin: string,
  why: string,
): Promise<PluginOutput> {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === "") return missingCommand(stdin, why);
  // VERSION is how a runtime negotiates; it needs nothing but the version list.
  if (command === "VERSION")
    return { exitCode: 0, stdout: JSON.stringify(versionResult(configVersionHint(stdin))) };
  const socket = env.PODNET_AGENT === "0" ? undefined : agentSocketFor(stdin);
  if (socket !== undefined) {
    const outcome = await relayToAgent(socket, {
      v: PROTOCOL_VERSION,
      kind,
      pid: process.pid,
      env: stringEnv(env),
      stdin,
    });
    if (outcome.kind === "served") return { exitCode: outcome.exitCode, stdout: outcome.stdout };
    // Only ADD can have left half a pod behind; the other verbs are safe to repeat here.
    if (outcome.kind === "lost" && command === "ADD")
      return failure(stdin, new CniError(ErrorCode.TryAgainLater, outcome.reason));
  }
  return await runHere(kind, env, stdin);
}
