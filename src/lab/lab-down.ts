/**
 * Tears a lab down: DEL for every pod (as a runtime would), the router's BIRD, then every
 * namespace of every lab id under the lab root — including ids left by a crashed `up` that never
 * saved its state.
 */
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import type { HeldLock } from "../linux/file-lock.ts";
import { deleteNetns, listNetns } from "../linux/netns.ts";
import { CniRuntime } from "./cni-runtime.ts";
import { CREATED_ETC_NETNS_FILE, LAB_ID, LAB_MARKER, labDir, labNetnsPrefix } from "./lab-paths.ts";
import { stopLabRouter } from "./lab-router.ts";
import { labRoot, labStateFile, loadLabState } from "./lab-state.ts";
import { withLabStateLock } from "./lab-state-lock.ts";
import { removeLabResolvConfs } from "./pod-resolv-conf.ts";
import { stopUpstreamDns } from "./upstream-dns.ts";

export interface DownReport {
  readonly namespaces: string[];
  readonly warnings: string[];
}

/** Removes the lab under the state's lock (a `lab pod add` meanwhile waits, then finds no lab). */
export async function labDown(): Promise<DownReport> {
  return await withLabStateLock("lab down", async (lock) => await removeLab(lock));
}

/**
 * Removes the lab; the caller holds the state's lock (`lab up` cleaning up after a failure, or
 * before it starts). With `lock`, the lock file goes too, as the holder's last step when it
 * releases the lock, and the emptied lab root after it (see withLabStateLock): removing them here
 * would let a waiter lock a new file and start while this is still running.
 */
export async function removeLab(lock?: HeldLock): Promise<DownReport> {
  const warnings: string[] = [];
  const state = loadLabState();
  const root = labRoot();
  const ids = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter(
          (d) => d.isDirectory() && LAB_ID.test(d.name) && existsSync(`${root}/${d.name}/${LAB_MARKER}`),
        )
        .map((d) => d.name)
    : [];
  if (state && !ids.includes(state.id)) ids.push(state.id);
  // The router's BIRD first, while its namespace is still there: it stops with a Cease to every
  // node instead of vanishing (also the BIRD of a crashed `up`, found by its pid files).
  for (const id of ids) {
    try {
      warnings.push(...(await stopLabRouter(labDir(id))));
    } catch (e) {
      warnings.push(`the lab router's BIRD of lab ${id}: ${(e as Error).message}`);
    }
  }
  if (state) {
    for (const pod of state.pods) {
      const node = state.nodes.find((n) => n.name === pod.node);
      if (!node) continue;
      const runtime = new CniRuntime(node.conflist, { binDirs: state.cniPath, nodeNetns: node.netns });
      try {
        await runtime.del(
          { containerId: pod.containerId, ifname: pod.ifname, netnsPath: pod.netnsPath },
          pod.result,
        );
      } catch (e) {
        warnings.push(`DEL of pod ${pod.name}: ${(e as Error).message}`);
      }
    }
  }
  if (state) stopUpstreamDns(state.external.dnsPid, state.dir);
  const removed: string[] = [];
  const all = listNetns();
  // Pods before nodes: a pod's veth peer lives in its node, and this order mirrors how it was built.
  for (const id of ids) {
    const mine = all.filter((n) => n.startsWith(labNetnsPrefix(id))).sort((a, b) => b.length - a.length);
    for (const ns of mine) {
      try {
        deleteNetns(ns);
        removed.push(ns);
      } catch (e) {
        warnings.push(`namespace ${ns}: ${(e as Error).message}`);
      }
    }
  }
  // The pods' resolv.conf files, and /etc/netns when a lab created it and nothing else lives there.
  for (const id of ids) {
    try {
      removeLabResolvConfs(labNetnsPrefix(id), existsSync(`${labDir(id)}/${CREATED_ETC_NETNS_FILE}`));
    } catch (e) {
      warnings.push(`resolv.conf files of lab ${id}: ${(e as Error).message}`);
    }
  }
  // Only what labs made: their id directories and the state file, never the whole root (it may
  // be a directory someone pointed PODNET_LAB_ROOT at).
  for (const id of ids) {
    if (existsSync(`${labDir(id)}/${LAB_MARKER}`)) rmSync(labDir(id), { recursive: true, force: true });
  }
  rmSync(labStateFile(), { force: true });
  if (lock) lock.removeOnRelease();
  else {
    try {
      rmdirSync(root);
    } catch {
      // not empty (something else lives there) or already gone: leave it
    }
  }
  return { namespaces: removed, warnings };
}
