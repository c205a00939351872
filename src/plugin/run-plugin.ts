/**
 * The plugin's work for one invocation, in this process: parse the environment and stdin, run the
 * verb, answer with exactly one JSON document (CNI.md, "Invocation"). The executed plugin calls it
 * (plugin-process.ts) and so does the node agent for the operations it serves (agent-protocol.ts).
 */

import { unhandled } from "../base/unhandled.ts";
import type { Command } from "../cni/env.ts";
import { parseEnvironment } from "../cni/env.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import { parseNetConf } from "../cni/netconf.ts";
import { encodeResult } from "../cni/result.ts";
import type { CniVersion } from "../cni/version.ts";
import { versionResult, versionSupports } from "../cni/version.ts";
import { closeNetlinkSockets } from "../linux/ip.ts";
import { configVersionHint } from "./config-version.ts";
import { toCniError } from "./error-codes.ts";
import type { PluginKind } from "./plugin-invocation.ts";
import type { NodeStateCache, PluginRequest } from "./plugin-request.ts";
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from "./podnet-ipam-plugin.ts";
import { cmdAdd, cmdCheck, cmdDel, cmdGc, cmdStatus } from "./podnet-plugin.ts";

export type { PluginKind } from "./plugin-invocation.ts";

export interface PluginOutput {
  readonly exitCode: number;
  readonly stdout: string;
}

function requireFeature(netconf: NetConf, command: Command): void {
  const feature =
    command === "GC" ? "gc" : command === "STATUS" ? "status" : command === "CHECK" ? "check" : undefined;
  if (feature && !versionSupports(netconf.cniVersion, feature)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `${command} is not defined for cniVersion ${netconf.cniVersion}`,
    );
  }
}

function dispatch(
  kind: PluginKind,
  command: Command,
  netconf: NetConf,
  req: PluginRequest,
): object | undefined {
  const main = kind === "podnet";
  switch (command) {
    case "ADD":
      return encodeResult(main ? cmdAdd(netconf, req) : ipamAdd(netconf, req), netconf.cniVersion);
    case "DEL":
      main ? cmdDel(netconf, req) : ipamDel(netconf, req);
      return undefined;
    case "CHECK":
      main ? cmdCheck(netconf, req) : ipamCheck(netconf, req);
      return undefined;
    case "GC":
      main ? cmdGc(netconf, req) : ipamGc(netconf, req);
      return undefined;
    case "STATUS":
      main ? cmdStatus(netconf, req) : ipamStatus(netconf, req);
      return undefined;
    case "VERSION":
      return versionResult(netconf.cniVersion);
    default: {
      unhandled(
        command,
        (shown) => new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND ${shown}`),
      );
    }
  }
}

export function runPlugin(
  kind: PluginKind,
  env: Record<string, string | undefined>,
  stdin: string,
  stateCache?: NodeStateCache,
): PluginOutput {
  let version: CniVersion = configVersionHint(stdin);
  try {
    if (env.CNI_COMMAND === "VERSION") {
      // VERSION must answer even for an empty or older config: it is how runtimes negotiate.
      return { exitCode: 0, stdout: JSON.stringify(versionResult(version)) };
    }
    const invocation = parseEnvironment(env);
    const netconf = parseNetConf(stdin);
    version = netconf.cniVersion;
    requireFeature(netconf, invocation.command);
    const out = dispatch(kind, invocation.command, netconf, {
      invocation,
      stdin,
      env,
      ...(stateCache ? { stateCache } : {}),
    });
    return { exitCode: 0, stdout: out === undefined ? "" : JSON.stringify(out) };
  } catch (e) {
    const err = toCniError(e);
    return { exitCode: 1, stdout: JSON.stringify(err.toJSON(version)) };
  } finally {
    closeNetlinkSockets();
  }
}
