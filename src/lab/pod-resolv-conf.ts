/**
 * Pods' resolv.conf files. `ip netns exec NAME` runs every command in a mount namespace of its own
 * where each file of /etc/netns/NAME/ is bind-mounted over /etc/ (ip-netns(8)); every process of a
 * lab pod starts that way, so /etc/netns/<pod netns>/resolv.conf is the pod's /etc/resolv.conf
 * and the host's own file is never touched. The lab writes only names carrying its namespace
 * prefix, removes them with the pod, and removes /etc/netns itself only when it created it and
 * it is empty again.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { validateNetnsName } from "../linux/netns.ts";
import { type PodDns, renderResolvConf } from "./resolv-conf.ts";

export const ETC_NETNS = "/etc/netns";

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * Writes the pod's resolv.conf; returns whether this call created `base` (the caller records it,
 * so that `lab down` removes it again). A concurrent rmdir by another lab's `down` between the
 * mkdir and the write is retried once.
 */
export function writePodResolvConf(netns: string, dns: PodDns, base = ETC_NETNS): { createdBase: boolean } {
  const dir = `${base}/${validateNetnsName(netns)}`;
  let createdBase = false;
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(base, { mode: 0o755 });
      createdBase = true;
    } catch (e) {
      if (errnoOf(e) !== "EEXIST") throw e;
    }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileSync(`${dir}/resolv.conf`, renderResolvConf(dns), { mode: 0o644 });
      return { createdBase };
    } catch (e) {
      if (errnoOf(e) !== "ENOENT" || attempt > 0) throw e;
    }
  }
}

/** Removes the pod's resolv.conf and its directory (missing ones are fine). */
export function removePodResolvConf(netns: string, base = ETC_NETNS): void {
  const dir = `${base}/${validateNetnsName(netns)}`;
  rmSync(`${dir}/resolv.conf`, { force: true });
  try {
    rmdirSync(dir);
  } catch (e) {
    // ENOENT: never written; ENOTEMPTY: someone put other files there, which are not ours to remove.
    if (errnoOf(e) !== "ENOENT" && errnoOf(e) !== "ENOTEMPTY") throw e;
  }
}

/**
 * Removes what a lab with this namespace prefix left under `base` (after a crash with no state,
 * too), then `base` itself when the lab created it and it is empty. Returns what was removed.
 */
export function removeLabResolvConfs(prefix: string, createdBase: boolean, base = ETC_NETNS): string[] {
  const removed: string[] = [];
  if (!existsSync(base)) return removed;
  for (const name of readdirSync(base)) {
    if (!name.startsWith(prefix)) continue;
    removePodResolvConf(name, base);
    removed.push(`${base}/${name}`);
  }
  if (createdBase) {
    try {
      rmdirSync(base);
    } catch (e) {
      // Another lab's pods (or anything else) live there now: leave it.
      if (errnoOf(e) !== "ENOTEMPTY" && errnoOf(e) !== "ENOENT") throw e;
    }
  }
  return removed;
}
