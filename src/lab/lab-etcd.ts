/**
 * The lab's own etcd (`podnet lab up --datastore etcd`): one member inside the lab's "datastore"
 * host namespace on the first segment, so every node — including those behind the router —
 * reaches it over the underlay, like a real cluster's etcd. It outlives `lab up` (detached) and
 * dies with its namespace on `lab down`.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";

import { pollUntil } from "../base/poll-until.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { spawnDetached } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export interface LabEtcd {
  readonly spec: string;
  readonly pid: number;
}

export async function startLabEtcd(
  netns: string,
  address: string,
  dir: string,
  logPath: string,
): Promise<LabEtcd> {
  const ip = address.split("/")[0] as string;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An IPv6 address in brackets (an ipv6 lab's etcd listens on 2001:db8:1::2).
  const client = `http://${hostPort(ip, ETCD_CLIENT_PORT)}`;
  const peer = `http://${hostPort(ip, ETCD_PEER_PORT)}`;
  const pid = spawnDetached(
    inNetns(netns, [
      "etcd",
      "--name",
      "lab",
      "--data-dir",
      dir,
      "--listen-client-urls",
      client,
      "--advertise-client-urls",
      client,
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--initial-cluster",
      `lab=${peer}`,
      "--initial-cluster-state",
      "new",
    ]),
    logPath,
  );
  const lastLines = () =>
    existsSync(logPath)
      ? readFileSync(logPath, "utf8").trim().split("\n").slice(-3).join(" | ")
      : "(no output)";
  await pollUntil(
    "the lab's etcd to become ready",
    () => existsSync(logPath) && readFileSync(logPath, "utf8").includes("ready to serve client requests"),
    20_000,
    { detail: lastLines },
  );
  return { spec: `etcd://${hostPort(ip, ETCD_CLIENT_PORT)}`, pid };
}
