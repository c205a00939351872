/**
 * sysctl access for the network namespace the current process lives in. /proc/sys/net is
 * per network namespace, so this changes only the namespace the plugin was started in (a node).
 */
import { readFileSync, writeFileSync } from "node:fs";

const KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/;

function keyPath(key: string): string {
  if (!KEY.test(key) || key.includes("..")) throw new Error(`Invalid sysctl key "${key}"`);
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}

/** Writes only when the value differs, to avoid needless writes on the hot path. */
export function ensureSysctl(key: string, value: string): void {
  const path = keyPath(key);
  if (readFileSync(path, "utf8").trim() === value) return;
  writeFileSync(path, value);
}
