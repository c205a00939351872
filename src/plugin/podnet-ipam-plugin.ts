/**
 * The `podnet-ipam` executable's verbs (run-plugin.ts dispatches to them when started under that
 * name): podnet's IPAM as a standalone CNI IPAM plugin, so any main plugin (the reference bridge,
 * for one) can hand out addresses from podnet's node state. The allocator itself is BuiltinIpam,
 * the same code the main `podnet` plugin runs in-process.
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import { parseValidAttachments } from "../cni/netconf.ts";
import type { Result } from "../cni/result.ts";
import { parseResult } from "../cni/result.ts";
import { formatIP } from "../ipnet/address.ts";
import { formatInterfaceCIDR, formatPrefix, parseInterfaceCIDR } from "../ipnet/prefix.ts";
import { BuiltinIpam } from "./ipam-builtin.ts";
import type { PluginRequest } from "./plugin-request.ts";
import { parsePodnetIpam } from "./podnet-ipam-config.ts";
import { parseRequestedIPs } from "./requested-ips.ts";

function open(netconf: NetConf, req: PluginRequest): BuiltinIpam {
  if (!netconf.ipam)
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'network config has no "ipam" section');
  const config = parsePodnetIpam(netconf.ipam);
  return new BuiltinIpam(
    config,
    { network: netconf.name, containerId: req.invocation.containerId, ifname: req.invocation.ifname },
    req.stateCache,
  );
}

function using<T>(netconf: NetConf, req: PluginRequest, fn: (ipam: BuiltinIpam) => T): T {
  const ipam = open(netconf, req);
  try {
    return fn(ipam);
  } finally {
    ipam.close();
  }
}

export function ipamAdd(netconf: NetConf, req: PluginRequest): Result {
  return using(netconf, req, (ipam) => {
    const lease = ipam.add(parseRequestedIPs(netconf, req.invocation.args));
    return {
      cniVersion: netconf.cniVersion,
      ips: lease.addresses.map((a) => ({
        address: formatInterfaceCIDR(a.ip, a.prefixLength),
        ...(a.gateway ? { gateway: formatIP(a.gateway) } : {}),
      })),
      routes: lease.routes.map((r) => ({
        dst: formatPrefix(r.dst),
        ...(r.gw ? { gw: formatIP(r.gw) } : {}),
      })),
      ...(netconf.dns ? { dns: netconf.dns } : {}),
    };
  });
}

export function ipamDel(netconf: NetConf, req: PluginRequest): void {
  using(netconf, req, (ipam) => ipam.del());
}

export function ipamCheck(netconf: NetConf, req: PluginRequest): void {
  const prev = netconf.prevResult === undefined ? undefined : parseResult(netconf.prevResult, "prevResult");
  const expected = (prev?.ips ?? []).map((c) => parseInterfaceCIDR(c.address).ip);
  using(netconf, req, (ipam) => ipam.check(expected));
}

export function ipamGc(netconf: NetConf, req: PluginRequest): void {
  const valid = parseValidAttachments(netconf);
  using(netconf, req, (ipam) => ipam.gc(valid));
}

export function ipamStatus(netconf: NetConf, req: PluginRequest): void {
  try {
    using(netconf, req, (ipam) => ipam.status());
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(
      ErrorCode.NotAvailable,
      `podnet-ipam for network "${netconf.name}" is not ready: ${(e as Error).message}`,
    );
  }
}
