/**
 * The flags of `podnet cluster bgp set|add-peer` as config changes (pure but for reading the
 * password file through the function given). Ranges are checked by the config's validation,
 * which names the field; here only the form of each flag.
 */

import { errorText } from "../base/error-text.ts";
import type { BgpPeer, BgpPeerSelector } from "../cluster/bgp-config.ts";
import type { BgpSettingsChange } from "../cluster/bgp-config-edit.ts";
import type { ParsedArgs } from "./args.ts";
import { flag, flagList, UsageError } from "./args.ts";

export const BGP_SET_FLAGS = [
  "as",
  "hold-time",
  "keepalive",
  "graceful-restart",
  "restart-time",
  "vpc-cidr",
  "reset-vpc-cidrs",
];
export const BGP_PEER_FLAGS = [
  "address",
  "as",
  "local-as",
  "password-file",
  "hold-time",
  "segment",
  "nodes",
  "allow-local-as",
  "multihop",
];

export class PasswordFileError extends Error {
  override readonly name = "PasswordFileError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`Cannot use the password file ${path}: ${reason}`);
  }
}

function intFlag(args: ParsedArgs, name: string): number | undefined {
  const text = flag(args, name);
  if (text === undefined) return undefined;
  if (!/^\d{1,10}$/.test(text)) throw new UsageError(`--${name} must be a whole number, not "${text}"`);
  return Number(text);
}

function onOff(args: ParsedArgs, name: string): boolean | undefined {
  const text = flag(args, name);
  if (text === undefined) return undefined;
  if (text !== "on" && text !== "off") throw new UsageError(`--${name} must be on or off, not "${text}"`);
  return text === "on";
}

/** The node-wide settings `set` changes; refuses a `set` that changes nothing. */
export function settingsChangeFromArgs(args: ParsedArgs): BgpSettingsChange {
  const vpcCidrs = flagList(args, "vpc-cidr");
  const reset = flag(args, "reset-vpc-cidrs") !== undefined;
  if (reset && vpcCidrs.length > 0)
    throw new UsageError("--reset-vpc-cidrs and --vpc-cidr exclude each other");
  const change: BgpSettingsChange = {
    asNumber: intFlag(args, "as"),
    holdTimeSeconds: intFlag(args, "hold-time"),
    keepaliveSeconds: intFlag(args, "keepalive"),
    gracefulRestart: onOff(args, "graceful-restart"),
    restartTimeSeconds: intFlag(args, "restart-time"),
    vpcCidrs: reset || vpcCidrs.length > 0 ? vpcCidrs : undefined,
  };
  if (Object.values(change).every((v) => v === undefined))
    throw new UsageError(`bgp set needs at least one of ${BGP_SET_FLAGS.map((f) => `--${f}`).join(", ")}`);
  return change;
}

/** The file's text without one trailing line break: what `echo secret > F` wrote. */
export function passwordFromFile(path: string, readFile: (path: string) => string): string {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new PasswordFileError(path, errorText(error));
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw new PasswordFileError(path, "it is empty");
  return password;
}

function selectorFromArgs(args: ParsedArgs): BgpPeerSelector | undefined {
  const segment = flag(args, "segment");
  const nodes = flag(args, "nodes");
  if (segment !== undefined && nodes !== undefined)
    throw new UsageError("--segment and --nodes exclude each other");
  if (segment !== undefined) return { cidr: segment };
  if (nodes !== undefined) return { nodes: nodes.split(",").filter((n) => n !== "") };
  return undefined;
}

/** The peer `add-peer NAME --address IP --as N …` describes (validated when added). */
export function peerFromArgs(args: ParsedArgs, readFile: (path: string) => string): BgpPeer {
  const [name, ...extra] = args.positionals;
  if (name === undefined || extra.length > 0) throw new UsageError("bgp add-peer takes one peer name");
  const address = flag(args, "address");
  const asNumber = intFlag(args, "as");
  if (address === undefined) throw new UsageError("bgp add-peer needs --address IP");
  if (asNumber === undefined) throw new UsageError("bgp add-peer needs --as N (the peer's AS)");
  const localAsNumber = intFlag(args, "local-as");
  const holdTimeSeconds = intFlag(args, "hold-time");
  const multihop = intFlag(args, "multihop");
  const passwordFile = flag(args, "password-file");
  const selector = selectorFromArgs(args);
  return {
    name,
    address,
    asNumber,
    ...(localAsNumber !== undefined && { localAsNumber }),
    ...(selector !== undefined && { selector }),
    ...(passwordFile !== undefined && { password: passwordFromFile(passwordFile, readFile) }),
    ...(holdTimeSeconds !== undefined && { holdTimeSeconds }),
    ...(multihop !== undefined && { multihop }),
    ...(flag(args, "allow-local-as") !== undefined && { allowLocalAs: true }),
  };
}
