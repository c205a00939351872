import { unhandled } from "../base/unhandled.ts";
import { CniError, ErrorCode } from "./errors.ts";

export type Command = "ADD" | "DEL" | "CHECK" | "STATUS" | "VERSION" | "GC";

export const COMMANDS: readonly Command[] = ["ADD", "DEL", "CHECK", "STATUS", "VERSION", "GC"];

/**
 * One plugin execution as the runtime described it. Fields a command does not use are "" / {}
 * (for example `netns` for STATUS, or for a DEL whose namespace is already gone).
 */
export interface Invocation {
  command: Command;
  containerId: string;
  netns: string;
  ifname: string;
  args: Record<string, string>;
  path: string[];
}

/** Container IDs are usually 64 hex digits; the bound only stops absurd input reaching state keys. */
export const MAX_CONTAINER_ID_LENGTH = 1024;
/** IFNAMSIZ is 16 bytes including the terminating NUL. */
export const MAX_IFNAME_BYTES = 15;
/** PATH_MAX on Linux. */
export const MAX_PATH_LENGTH = 4096;

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function envError(variable: string, reason: string): CniError {
  return new CniError(ErrorCode.InvalidEnvironment, `Invalid ${variable}: ${reason}`);
}

/** Why `id` is not a valid container ID (CNI spec 1.1 "Parameters"), or undefined when it is. */
export function containerIdProblem(id: string): string | undefined {
  if (id === "") return "must not be empty";
  if (id.length > MAX_CONTAINER_ID_LENGTH) {
    return `is ${id.length} characters long, longer than ${MAX_CONTAINER_ID_LENGTH}`;
  }
  if (!CONTAINER_ID.test(id)) {
    return `${JSON.stringify(id)} must start with a letter or digit and contain only letters, digits, "_", "." and "-"`;
  }
  return undefined;
}

/**
 * Why `name` cannot be a Linux interface name, or undefined when it can: the kernel's
 * dev_valid_name() rejects "", ".", "..", names of IFNAMSIZ bytes or more, and '/', ':' or
 * whitespace; NUL would silently truncate the name on its way through netlink.
 */
export function ifnameProblem(name: string): string | undefined {
  if (name === "") return "must not be empty";
  if (name === "." || name === "..") return `${JSON.stringify(name)} is not allowed`;
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > MAX_IFNAME_BYTES) {
    return `${JSON.stringify(name)} is ${bytes} bytes long, longer than ${MAX_IFNAME_BYTES}`;
  }
  if (name.includes("/")) return `${JSON.stringify(name)} must not contain "/"`;
  if (name.includes(":")) return `${JSON.stringify(name)} must not contain ":"`;
  if (name.includes("\0")) return `${JSON.stringify(name)} must not contain a NUL character`;
  if (/\s/.test(name)) return `${JSON.stringify(name)} must not contain whitespace`;
  return undefined;
}

export function validateContainerId(id: string): string {
  const problem = containerIdProblem(id);
  if (problem !== undefined) throw envError("CNI_CONTAINERID", problem);
  return id;
}

export function validateIfname(name: string): string {
  const problem = ifnameProblem(name);
  if (problem !== undefined) throw envError("CNI_IFNAME", problem);
  return name;
}

/**
 * Returns the path with "//", "/./" and a trailing "/" removed. ".." is refused rather than
 * resolved: the plugin opens this path as root, and a namespace path has no reason to climb.
 */
export function validateNetnsPath(p: string): string {
  if (p === "") throw envError("CNI_NETNS", "must not be empty");
  if (p.includes("\0")) throw envError("CNI_NETNS", `${JSON.stringify(p)} must not contain a NUL character`);
  if (p.length > MAX_PATH_LENGTH) {
    throw envError("CNI_NETNS", `path is ${p.length} characters long, longer than ${MAX_PATH_LENGTH}`);
  }
  if (!p.startsWith("/")) throw envError("CNI_NETNS", `${JSON.stringify(p)} is not an absolute path`);
  const segments = p.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) throw envError("CNI_NETNS", `${JSON.stringify(p)} must not contain ".."`);
  if (segments.length === 0) throw envError("CNI_NETNS", `${JSON.stringify(p)} does not name a file`);
  return `/${segments.join("/")}`;
}

/**
 * Parses CNI_ARGS ("K=V;K=V"). Empty segments (a trailing ";") are skipped. A pair without
 * exactly one "=", an empty key or a repeated key is refused: reading `IP=a=b` or two `IP`s in
 * either way would silently allocate an address nobody asked for. Deciding whether unknown keys
 * are acceptable (the IgnoreUnknown convention) is checkCniArgs' job.
 */
export function parseCniArgs(text: string): Record<string, string> {
  const args: Record<string, string> = {};
  for (const pair of text.split(";")) {
    if (pair.trim() === "") continue;
    const parts = pair.split("=");
    if (parts.length !== 2) {
      throw envError("CNI_ARGS", `pair ${JSON.stringify(pair)} is not of the form KEY=VALUE`);
    }
    const [key = "", value = ""] = parts;
    if (key === "" || /[\s\0]/.test(key)) {
      throw envError("CNI_ARGS", `pair ${JSON.stringify(pair)} has an empty or malformed key`);
    }
    if (Object.hasOwn(args, key))
      throw envError("CNI_ARGS", `key ${JSON.stringify(key)} appears more than once`);
    args[key] = value;
  }
  return args;
}

/** CONVENTIONS.md: "IgnoreUnknown=1" (or "true") lets a runtime pass keys a plugin does not know. */
export function ignoresUnknownArgs(args: Record<string, string>): boolean {
  const v = args.IgnoreUnknown?.toLowerCase();
  return v === "1" || v === "true";
}

/** Refuses CNI_ARGS keys outside `known` unless the runtime set IgnoreUnknown. */
export function checkCniArgs(args: Record<string, string>, known: readonly string[]): void {
  if (ignoresUnknownArgs(args)) return;
  const unknown = Object.keys(args).filter((k) => k !== "IgnoreUnknown" && !known.includes(k));
  if (unknown.length > 0) {
    throw envError(
      "CNI_ARGS",
      `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} (set IgnoreUnknown=1 to allow)`,
    );
  }
}

function parseCommand(value: string | undefined): Command {
  if (value === undefined || value === "") throw envError("CNI_COMMAND", "is not set");
  const command = COMMANDS.find((c) => c === value);
  if (command === undefined) {
    throw envError("CNI_COMMAND", `${JSON.stringify(value)} is not one of ${COMMANDS.join(", ")}`);
  }
  return command;
}

function required(env: Record<string, string | undefined>, name: string, command: Command): string {
  const v = env[name];
  if (v === undefined || v === "") throw envError(name, `is required for ${command} but not set`);
  return v;
}

/** CNI_PATH is the plugin search path; ":"-separated on Linux, empty entries mean nothing. */
function parsePath(value: string | undefined): string[] {
  if (value === undefined) return [];
  const dirs = value.split(":").filter((d) => d !== "");
  for (const d of dirs) {
    if (d.includes("\0")) throw envError("CNI_PATH", `entry ${JSON.stringify(d)} contains a NUL character`);
  }
  return dirs;
}

/**
 * Reads the CNI_* variables, requiring exactly what CNI 1.1 requires per command:
 * ADD/CHECK need CONTAINERID, NETNS and IFNAME; DEL needs CONTAINERID and IFNAME (NETNS may be
 * empty once the namespace is gone); GC needs CNI_PATH; STATUS and VERSION need only the command.
 * CNI_ARGS is read only for commands about one attachment, so a runtime's stray CNI_ARGS can
 * never make VERSION, STATUS or GC fail.
 */
export function parseEnvironment(env: Record<string, string | undefined>): Invocation {
  const command = parseCommand(env.CNI_COMMAND);
  const path = parsePath(env.CNI_PATH);
  const invocation: Invocation = { command, containerId: "", netns: "", ifname: "", args: {}, path };
  switch (command) {
    case "ADD":
    case "CHECK":
      invocation.containerId = validateContainerId(required(env, "CNI_CONTAINERID", command));
      invocation.netns = validateNetnsPath(required(env, "CNI_NETNS", command));
      invocation.ifname = validateIfname(required(env, "CNI_IFNAME", command));
      invocation.args = parseCniArgs(env.CNI_ARGS ?? "");
      return invocation;
    case "DEL": {
      invocation.containerId = validateContainerId(required(env, "CNI_CONTAINERID", command));
      const netns = env.CNI_NETNS ?? "";
      invocation.netns = netns === "" ? "" : validateNetnsPath(netns);
      invocation.ifname = validateIfname(required(env, "CNI_IFNAME", command));
      invocation.args = parseCniArgs(env.CNI_ARGS ?? "");
      return invocation;
    }
    case "GC":
      if (path.length === 0) throw envError("CNI_PATH", "is required for GC but not set");
      return invocation;
    case "STATUS":
    case "VERSION":
      return invocation;
    default: {
      unhandled(command, (shown) => envError("CNI_COMMAND", `unhandled command ${shown}`));
    }
  }
}
