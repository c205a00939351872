/**
 * The words of the copy-paste commands explain and trace print (pure). Names and addresses come
 * from the agents' answers, which any node can write: a word reaches a command line only when it
 * is what it claims to be — an interface name, a netns path, an address, a prefix, an identifier —
 * and is shown as "<invalid>" otherwise, so a crafted answer cannot plant a second command.
 */
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";

export const INVALID_WORD = "<invalid>";

const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
const NETNS_PATH = /^\/[A-Za-z0-9_./-]+$/;
const IDENTIFIER = /^[A-Za-z0-9_.-]{1,128}$/;
const SYSCTL_KEY = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_@:-]+)*$/;

/** An interface name as `ip` takes it. */
export function ifnameWord(name: string | undefined): string {
  return name !== undefined && INTERFACE_NAME.test(name) ? name : INVALID_WORD;
}

/** A network namespace path as `nsenter --net=` takes it. */
export function netnsWord(path: string | undefined): string {
  return path !== undefined && NETNS_PATH.test(path) && !path.split("/").includes("..") ? path : INVALID_WORD;
}

/** An IP address, canonical. */
export function addressWord(text: string | undefined): string {
  const ip = text === undefined ? undefined : tryParseIP(text);
  return ip ? formatIP(ip) : INVALID_WORD;
}

/** A prefix (or a bare address, or "default"), canonical. */
export function prefixWord(text: string | undefined): string {
  if (text === undefined) return INVALID_WORD;
  if (text === "default") return text;
  if (!text.includes("/")) return addressWord(text);
  try {
    return formatPrefix(parsePrefix(text));
  } catch {
    return INVALID_WORD;
  }
}

/** A container id, network name or similar identifier. */
export function identifierWord(text: string | undefined): string {
  return text !== undefined && IDENTIFIER.test(text) ? text : INVALID_WORD;
}

/** A sysctl key built from an interface name. */
export function sysctlWord(key: string): string {
  return SYSCTL_KEY.test(key) ? key : INVALID_WORD;
}

/** One shell word, single-quoted when it holds anything but plain characters. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
