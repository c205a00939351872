/**
 * The podnet CNI plugin: ADD, DEL, CHECK, GC and STATUS for bridge and ptp modes.
 * Each verb only wires config, IPAM and kernel steps together; the steps live in their own files.
 */

import { existsSync, readFileSync } from "node:fs";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { checkCniArgs } from "../cni/env.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import { parseValidAttachments } from "../cni/netconf.ts";
import type { DNS, Interface, IPConfig, Result, Route } from "../cni/result.ts";
import { parseResult } from "../cni/result.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import { formatInterfaceCIDR, formatPrefix, parseInterfaceCIDR } from "../ipnet/prefix.ts";
import { netnsAt } from "../linux/ip.ts";
import { assertNetnsFile } from "../linux/netns.ts";
import { hostVethAlias, listHostVeths, pokeAgent } from "../node-state/node-state.ts";
import { attach, deleteHostVeth, InterfaceExistsError, inspectBridge, linkExistsIn } from "./attach.ts";
import { checkAttachment } from "./check.ts";
import type { PodnetConfig } from "./config.ts";
import { parsePodnetConfig } from "./config.ts";
import { PodnetErrorCode } from "./error-codes.ts";
import type { IpamBackend, IpamLease } from "./ipam-backend.ts";
import { chooseIpam } from "./ipam-choice.ts";
import { configuredPrefixLength } from "./link-plan.ts";
import { bridgeMac, containerMac, hostVethMac, hostVethName } from "./naming.ts";
import type { PluginRequest } from "./plugin-request.ts";
import { podDns } from "./pod-dns.ts";
import { podIdentity } from "./pod-identity.ts";
import { parseRequestedIPs } from "./requested-ips.ts";

function attachmentKey(netconf: NetConf, req: PluginRequest): AttachmentKey {
  return { network: netconf.name, containerId: req.invocation.containerId, ifname: req.invocation.ifname };
}

function withIpam<T>(config: PodnetConfig, req: PluginRequest, fn: (ipam: IpamBackend) => T): T {
  const ipam = chooseIpam(config, req);
  try {
    return fn(ipam);
  } finally {
    ipam.close?.();
  }
}

/** Pod rows live in podnet-ipam's state: after they may have changed, the node agent is told. */
function notifyAgent(config: PodnetConfig): void {
  if (config.ipam.kind === "builtin") pokeAgent(config.ipam.config.dataDir);
}

function prevResultOf(netconf: NetConf): Result | undefined {
  return netconf.prevResult === undefined ? undefined : parseResult(netconf.prevResult, "prevResult");
}

function buildResult(
  config: PodnetConfig,
  req: PluginRequest,
  lease: IpamLease,
  macs: { bridge?: string; host: string; container: string },
  hostVeth: string,
  podDnsConfig: DNS | undefined,
): Result {
  const prev = prevResultOf(config.netconf);
  const interfaces: Interface[] = [...(prev?.interfaces ?? [])];
  if (config.mode === "bridge")
    interfaces.push({ name: config.bridge, mac: macs.bridge ?? "", mtu: config.mtu });
  interfaces.push({ name: hostVeth, mac: macs.host, mtu: config.mtu });
  const containerIndex = interfaces.length;
  interfaces.push({
    name: req.invocation.ifname,
    mac: macs.container,
    mtu: config.mtu,
    sandbox: req.invocation.netns,
  });

  const ips: IPConfig[] = [
    ...(prev?.ips ?? []),
    ...lease.addresses.map((a) => ({
      address: formatInterfaceCIDR(a.ip, configuredPrefixLength(config.mode, a)),
      ...(a.gateway ? { gateway: formatIP(a.gateway) } : {}),
      interface: containerIndex,
    })),
  ];
  const gatewayOf = (family: 4 | 6): IPAddress | undefined =>
    lease.addresses.find((a) => a.ip.family === family)?.gateway;
  const routes: Route[] = [
    ...(prev?.routes ?? []),
    ...lease.routes.map((r) => {
      const gw = r.gw ?? gatewayOf(r.dst.family);
      return { dst: formatPrefix(r.dst), ...(gw ? { gw: formatIP(gw) } : {}) };
    }),
  ];
  // The IPAM's answer first (CNI: a delegate may know better), then the pod's cluster DNS.
  const dns = lease.dns ?? podDnsConfig ?? prev?.dns;
  return { cniVersion: config.netconf.cniVersion, interfaces, ips, routes, ...(dns ? { dns } : {}) };
}

/** CNI_ARGS keys podnet understands; others are refused unless IgnoreUnknown is set (CNI conventions). */
export const KNOWN_CNI_ARGS = [
  "IP",
  "K8S_POD_NAMESPACE",
  "K8S_POD_NAME",
  "K8S_POD_INFRA_CONTAINER_ID",
  "K8S_POD_UID",
];

export function cmdAdd(netconf: NetConf, req: PluginRequest): Result {
  const config = parsePodnetConfig(netconf);
  checkCniArgs(req.invocation.args, KNOWN_CNI_ARGS);
  // Before any allocation or kernel work: a pod that could not be recorded is refused whole.
  const pod = {
    ...podIdentity(netconf, req.invocation.args, req.invocation.containerId),
    // Recorded so `podnet explain` can look inside the pod's namespace (checked just below).
    netns: req.invocation.netns,
  };
  const key = attachmentKey(netconf, req);
  // These checks come before IPAM: a repeated ADD for a running pod must fail without touching
  // the addresses that pod holds, and a bad namespace must not cost an allocation.
  assertNetnsFile(req.invocation.netns);
  // A bad clusterDomain is refused before anything is allocated, as is a bad namespace.
  const dns = podDns(netconf, pod.namespace);
  if (linkExistsIn(key.ifname, netnsAt(req.invocation.netns))) {
    throw new InterfaceExistsError(key.ifname, req.invocation.netns);
  }
  return withIpam(config, req, (ipam) => {
    // The pod row is written with the addresses; failing below releases both together.
    const lease = ipam.add(parseRequestedIPs(netconf, req.invocation.args), pod);
    try {
      const hostVeth = hostVethName(key);
      const ipv4 = lease.addresses.find((a) => a.ip.family === 4)?.ip;
      const firstGateway = lease.addresses.find((a) => a.gateway)?.gateway;
      const bridge = config.mode === "bridge" ? inspectBridge(config.bridge) : undefined;
      const macs = {
        bridge: bridge?.mac ?? bridgeMac(config.bridge, firstGateway ? formatIP(firstGateway) : netconf.name),
        host: hostVethMac(key),
        container: containerMac(key, ipv4),
      };
      attach({
        mode: config.mode,
        bridge: config.bridge,
        existingBridge: bridge?.exists ?? false,
        bridgeMac: macs.bridge,
        mtu: config.mtu,
        hairpin: config.hairpin,
        hostVeth,
        hostMac: macs.host,
        hostAlias: hostVethAlias(key),
        ifname: key.ifname,
        containerMac: macs.container,
        netnsPath: req.invocation.netns,
        addresses: lease.addresses,
        routes: lease.routes,
      });
      return buildResult(
        config,
        req,
        lease,
        config.mode === "bridge" ? macs : { host: macs.host, container: macs.container },
        hostVeth,
        dns,
      );
    } catch (e) {
      // A failed ADD leaves nothing behind (CNI.md rule 1), but a repeated ADD must not take
      // the address away from the pod that already holds it.
      if (lease.fresh) {
        try {
          ipam.del();
        } catch {
          // the original error is what the runtime needs to see
        }
      }
      throw e;
    } finally {
      notifyAgent(config);
    }
  });
}

export function cmdDel(netconf: NetConf, req: PluginRequest): void {
  const config = parsePodnetConfig(netconf);
  // No CNI_ARGS check here: DEL cleans up whatever ADD accepted, and must not be refused.
  // DEL is best-effort (CNI.md rule 2): the address is released even when the veth cannot be
  // removed, and both failures are reported.
  const errors: string[] = [];
  try {
    // The veth pair dies with either end, so deleting the host side also cleans the pod's side,
    // and works when the pod's namespace is already gone.
    deleteHostVeth(hostVethName(attachmentKey(netconf, req)));
  } catch (e) {
    errors.push((e as Error).message);
  }
  try {
    withIpam(config, req, (ipam) => ipam.del());
  } catch (e) {
    if (errors.length === 0) throw e;
    errors.push((e as Error).message);
  } finally {
    notifyAgent(config);
  }
  if (errors.length === 1) throw new CniError(PodnetErrorCode.KernelOperationFailed, errors[0] as string);
  if (errors.length > 1)
    throw new CniError(ErrorCode.IOFailure, "DEL finished with errors", errors.join("; "));
}

export function cmdCheck(netconf: NetConf, req: PluginRequest): void {
  const config = parsePodnetConfig(netconf);
  const prev = prevResultOf(netconf);
  if (!prev)
    throw new CniError(ErrorCode.InvalidNetworkConfig, "CHECK needs prevResult in the network config");
  const ifname = req.invocation.ifname;
  const index = (prev.interfaces ?? []).findIndex((i) => i.name === ifname && i.sandbox);
  const expected = (prev.ips ?? [])
    .filter((c) => c.interface === undefined || c.interface === index)
    .map((c) => parseInterfaceCIDR(c.address).ip);
  withIpam(config, req, (ipam) => ipam.check(expected));
  checkAttachment({
    mode: config.mode,
    bridge: config.bridge,
    hostVeth: hostVethName(attachmentKey(netconf, req)),
    ifname,
    netnsPath: req.invocation.netns,
    prevResult: prev,
  });
}

export function cmdGc(netconf: NetConf, req: PluginRequest): void {
  const config = parsePodnetConfig(netconf);
  const valid = parseValidAttachments(netconf);
  const errors: string[] = [];
  try {
    withIpam(config, req, (ipam) => ipam.gc(valid));
  } catch (e) {
    errors.push((e as Error).message);
  }
  notifyAgent(config);
  const keep = new Set(valid.map(hostVethName));
  for (const link of listHostVeths(netconf.name)) {
    if (keep.has(link.ifname)) continue;
    try {
      deleteHostVeth(link.ifname);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0)
    throw new CniError(
      ErrorCode.IOFailure,
      `GC of network "${netconf.name}" finished with errors`,
      errors.join("; "),
    );
}

/**
 * Why the node agent's readiness marker does not vouch for the node, or undefined when it does:
 * it must exist, and the agent that wrote it must still be running.
 */
function agentReadiness(readyFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(readyFile, "utf8");
  } catch {
    return `the node agent has not programmed it yet (no ${readyFile})`;
  }
  let pid: unknown;
  try {
    pid = (JSON.parse(text) as { pid?: unknown }).pid;
  } catch {
    return `the node agent's marker ${readyFile} is unreadable`;
  }
  if (typeof pid === "number" && Number.isInteger(pid) && pid > 0 && !existsSync(`/proc/${pid}`)) {
    return `the node agent that programmed it (pid ${pid}) is no longer running`;
  }
  return undefined;
}

export function cmdStatus(netconf: NetConf, req: PluginRequest): void {
  const config = parsePodnetConfig(netconf);
  // An agent-managed node is ready only once the agent has programmed its network (routes to
  // the other nodes); before that, pods would start without cross-node connectivity.
  if (config.readyFile !== undefined) {
    const problem = agentReadiness(config.readyFile);
    if (problem !== undefined) {
      throw new CniError(ErrorCode.NotAvailable, `podnet network "${netconf.name}" is not ready: ${problem}`);
    }
  }
  try {
    withIpam(config, req, (ipam) => ipam.status());
  } catch (e) {
    if (
      e instanceof CniError &&
      (e.code === ErrorCode.NotAvailable || e.code === ErrorCode.NotAvailableExistingAffected)
    )
      throw e;
    throw new CniError(
      ErrorCode.NotAvailable,
      `podnet network "${netconf.name}" is not ready: ${(e as Error).message}`,
    );
  }
}
