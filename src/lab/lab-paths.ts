/** Names and paths of one lab's things, derived from its id (so `down` can find them after a crash). */
import { LAB_NETNS_PREFIX, labRoot } from "./lab-state.ts";

export function labDir(id: string): string {
  return `${labRoot()}/${id}`;
}

export function labNetnsPrefix(id: string): string {
  return `${LAB_NETNS_PREFIX}${id}-`;
}

export function nodeNetns(id: string, node: string): string {
  return `${labNetnsPrefix(id)}${node}`;
}

export function podNetns(id: string, pod: string): string {
  return `${labNetnsPrefix(id)}${pod}`;
}

/** Lab ids are `randomSuffix(6)`: six lowercase letters and digits. */
export const LAB_ID = /^[a-z0-9]{6}$/;

/** A file every lab directory holds; nothing without it is ever removed by `lab down`. */
export const LAB_MARKER = ".podnet-lab";

/** In a lab's directory when one of its pods created /etc/netns (`lab down` removes it, if empty). */
export const CREATED_ETC_NETNS_FILE = "created-etc-netns";
