/**
 * The lab's DNS outside the cluster: Debian's dnsmasq on the external host, serving a small zone
 * (`example.test`, RFC 6761 reserves .test for this) and nothing else — no upstream, no
 * /etc/hosts, no /etc/resolv.conf — on the external host's own addresses only. The agents forward
 * every name outside the cluster domain to it, as a node's resolver would be in a real cluster.
 */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { pollUntil } from "../base/poll-until.ts";
import { formatIP, parseIP } from "../ipnet/address.ts";
import { spawnDetached } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { logTail } from "./log-tail.ts";

export const DNSMASQ = "/usr/sbin/dnsmasq";
export const UPSTREAM_ZONE = "example.test";
/** A name outside the cluster that resolves to the external host (which runs the echo server). */
export const UPSTREAM_HOST = `www.${UPSTREAM_ZONE}`;
export const UPSTREAM_TXT_NAME = `lab.${UPSTREAM_ZONE}`;
export const UPSTREAM_TXT = "podnet lab upstream";
/** Short, so a pod re-resolving after a change does not wait long; dnsmasq's default is 0. */
const LOCAL_TTL = 5;

export class UpstreamDnsError extends Error {
  override readonly name = "UpstreamDnsError";
}

/**
 * dnsmasq's configuration (pure), for the external host's addresses (one per lab family, primary
 * first, without prefix length). `local=` makes it answer every name of the zone itself (NXDOMAIN
 * for unknown ones) and `no-resolv` without `server=` leaves it no upstream: anything else is
 * REFUSED, so a pod's lookup that reaches it proves the agent forwarded exactly this zone's names.
 * www.example.test has an A and, in a lab with IPv6, an AAAA record: the external host's addresses.
 */
export function renderDnsmasqConf(addresses: readonly string[]): string {
  if (addresses.length === 0) throw new UpstreamDnsError("the external host has no address to serve DNS on");
  const ips = addresses.map((a) => parseIP(a)); // throws on anything that is not one address
  if (new Set(ips.map((ip) => ip.family)).size !== ips.length)
    throw new UpstreamDnsError(`the external host's addresses ${addresses.join(", ")} repeat a family`);
  const shown = ips.map(formatIP);
  return [
    "# podnet lab: the zone outside the cluster, on the external host",
    "no-resolv",
    "no-hosts",
    "no-poll",
    ...shown.map((a) => `listen-address=${a}`),
    "bind-interfaces",
    "port=53",
    `local=/${UPSTREAM_ZONE}/`,
    `host-record=${[UPSTREAM_HOST, ...shown].join(",")}`,
    `txt-record=${UPSTREAM_TXT_NAME},"${UPSTREAM_TXT}"`,
    `local-ttl=${LOCAL_TTL}`,
    // Its own process, as root in the lab: nothing to drop privileges to that could read the
    // lab's 0700 directories, and no pid file (the lab tracks the pid it spawned).
    "user=root",
    "pid-file=",
    "",
  ].join("\n");
}

/**
 * Starts dnsmasq in the external host's namespace and waits until it listens; returns its pid.
 * `addresses` are the host's addresses without prefix length, primary first.
 */
export async function startUpstreamDns(
  netns: string,
  addresses: readonly string[],
  dir: string,
  logPath: string,
): Promise<number> {
  if (!existsSync(DNSMASQ))
    throw new UpstreamDnsError(
      `${DNSMASQ} is missing: install Debian's dnsmasq-base (apt-get install dnsmasq-base)`,
    );
  const conf = `${dir}/dnsmasq.conf`;
  writeFileSync(conf, renderDnsmasqConf(addresses));
  const pid = spawnDetached(
    inNetns(netns, [DNSMASQ, `--conf-file=${conf}`, "--keep-in-foreground", "--log-facility=-"]),
    logPath,
  );
  await pollUntil(
    `dnsmasq on the external host (${addresses.join(", ")} port 53) to start`,
    () => {
      if (!processAlive(pid)) throw new UpstreamDnsError(`dnsmasq exited: ${logTail(logPath)}`);
      return logTail(logPath).includes("started");
    },
    10_000,
    { detail: () => logTail(logPath), intervalMs: 25 },
  );
  return pid;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the dnsmasq the lab started in `dir` (gone already is fine: it also dies with the external
 * host's namespace). The pid is signalled only while it still runs that dnsmasq with that
 * configuration: a pid reused by another process is left alone.
 */
export function stopUpstreamDns(pid: number | undefined, dir: string): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 1) return false;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return false;
  }
  if (argv[0] !== DNSMASQ || !argv.includes(`--conf-file=${dir}/dnsmasq.conf`)) return false;
  try {
    process.kill(pid, "SIGTERM");
    return true;
  } catch {
    return false;
  }
}
