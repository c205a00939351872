/**
 * How an executed plugin hands its operation to the node agent, which does the same work warm
 * (its code loaded, its caches hot) instead of a cold process per pod. One request line, then
 * the agent's answer: `accepted` as soon as it starts the operation, then the result. A plugin
 * that gets no `accepted` knows nothing was done and does the work itself; see agent-relay.ts.
 *
 * The socket lives in podnet-ipam's data directory, which the agent owns as its state directory
 * (root-only, 0700), so only configs whose state the agent keeps are ever sent to it.
 */
import { DEFAULT_DATA_DIR } from "../cni/conflist.ts";
import type { PluginKind } from "./plugin-invocation.ts";

export const AGENT_SOCKET_NAME = "cni.sock";
export const PROTOCOL_VERSION = 1;

export interface RelayRequest {
  readonly v: number;
  readonly kind: PluginKind;
  /** The plugin's pid: the agent checks through /proc that it shares the plugin's namespaces. */
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

export type RelayReply =
  /** The agent started the operation: from now on only its result can say what happened. */
  | { readonly v: number; readonly accepted: true }
  | { readonly v: number; readonly exitCode: number; readonly stdout: string }
  /** The agent will not serve this one (another namespace, another version): nothing was done. */
  | { readonly v: number; readonly declined: string };

/** The agent's socket for the config on stdin, or undefined when its IPAM state is not podnet-ipam's. */
export function agentSocketFor(stdin: string): string | undefined {
  let conf: unknown;
  try {
    conf = JSON.parse(stdin);
  } catch {
    return undefined;
  }
  if (typeof conf !== "object" || conf === null) return undefined;
  const ipam = (conf as { ipam?: unknown }).ipam;
  if (typeof ipam !== "object" || ipam === null) return undefined;
  const { type, dataDir } = ipam as { type?: unknown; dataDir?: unknown };
  if (type !== "podnet-ipam") return undefined;
  if (dataDir !== undefined && (typeof dataDir !== "string" || !dataDir.startsWith("/"))) return undefined;
  return `${(dataDir ?? DEFAULT_DATA_DIR).replace(/\/+$/, "")}/${AGENT_SOCKET_NAME}`;
}

export function encodeLine(message: RelayRequest | RelayReply): string {
  return `${JSON.stringify(message)}\n`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses one reply line; undefined for anything that is not a reply of this protocol version. */
export function parseReply(line: string): RelayReply | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || v.v !== PROTOCOL_VERSION) return undefined;
  if (v.accepted === true) return { v: PROTOCOL_VERSION, accepted: true };
  if (typeof v.declined === "string") return { v: PROTOCOL_VERSION, declined: v.declined };
  if (Number.isInteger(v.exitCode) && typeof v.stdout === "string")
    return { v: PROTOCOL_VERSION, exitCode: v.exitCode as number, stdout: v.stdout };
  return undefined;
}

/** Parses the request line; a string says why it is not one. */
export function parseRequest(line: string): RelayRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return "the request is not JSON";
  }
  if (!isRecord(v)) return "the request is not a JSON object";
  if (v.v !== PROTOCOL_VERSION) return `protocol version ${JSON.stringify(v.v)} is not ${PROTOCOL_VERSION}`;
  if (v.kind !== "podnet" && v.kind !== "podnet-ipam") return `unknown plugin ${JSON.stringify(v.kind)}`;
  if (!Number.isInteger(v.pid) || (v.pid as number) <= 0) return "the request has no valid pid";
  if (typeof v.stdin !== "string") return "the request has no stdin";
  if (!isRecord(v.env) || !Object.values(v.env).every((x) => typeof x === "string"))
    return "the request's environment is not a map of strings";
  return {
    v: PROTOCOL_VERSION,
    kind: v.kind,
    pid: v.pid as number,
    env: v.env as Record<string, string>,
    stdin: v.stdin,
  };
}
