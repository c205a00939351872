/**
 * The sysctls a node's diagnosis answer reports (node-facts.ts): the keys that decide whether the
 * node forwards a packet and accepts it on an interface, the /proc/sys path of a dotted key (an
 * interface name with dots stays one segment), and reading them from the agent's own namespace.
 */
import { readFileSync } from "node:fs";
import { errorText } from "../base/error-text.ts";
import { validateIfname } from "../linux/kernel-read.ts";

const SYSCTL_KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_@:-]+)+$/;
/** Keys whose fourth segment on is an interface name, which may hold dots (eth0.100, bond0.42). */
const PER_DEVICE = /^net\.ipv[46]\.(conf|neigh)\./;

/**
 * Pure: the /proc/sys path of a dotted sysctl key. An interface name inside a per-device key
 * (`net.ipv4.conf.eth0.100.rp_filter`) keeps its dots: it is everything between the fourth
 * segment and the last, and must be a valid interface name. No segment is empty or "..", so the
 * path cannot climb out of /proc/sys.
 */
export function sysctlPath(key: string): string {
  if (!SYSCTL_KEY.test(key)) throw new Error(`Invalid sysctl key "${key}"`);
  const parts = key.split(".");
  if (PER_DEVICE.test(key) && parts.length > 5) {
    const device = parts.slice(3, -1).join(".");
    try {
      validateIfname(device);
    } catch (e) {
      throw new Error(`Invalid sysctl key "${key}": ${errorText(e)}`);
    }
    return `/proc/sys/${[...parts.slice(0, 3), device, parts.at(-1)].join("/")}`;
  }
  return `/proc/sys/${parts.join("/")}`;
}

/** /proc/sys/net is per network namespace: this reads the agent's own (the node's). */
export function readSysctl(key: string): string | undefined {
  const path = sysctlPath(key);
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** The sysctls that decide whether this node forwards a packet and accepts it on an interface. */
export function forwardingSysctlKeys(uplink: string, bridge: string): string[] {
  return [
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.rp_filter",
    `net.ipv4.conf.${uplink}.rp_filter`,
    `net.ipv4.conf.${bridge}.rp_filter`,
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.ipv6.conf.all.forwarding",
  ];
}

/** Reads the keys that exist; the ones that fail to read are named in `errors`. */
export function readSysctls(
  readers: { readonly readSysctl: (key: string) => string | undefined },
  keys: readonly string[],
  errors: string[],
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of keys) {
    try {
      const value = readers.readSysctl(key);
      if (value !== undefined) values[key] = value;
    } catch (e) {
      errors.push(`sysctl ${key}: ${errorText(e)}`);
    }
  }
  return values;
}
