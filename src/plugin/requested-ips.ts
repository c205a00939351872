/** Requested addresses (CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips) parsed to IPs. */
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import { requestedIPs } from "../cni/netconf.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { parseIP } from "../ipnet/address.ts";
import { AddressParseError } from "../ipnet/errors.ts";

export function parseRequestedIPs(netconf: NetConf, args: Record<string, string>): IPAddress[] {
  return requestedIPs(netconf, args).map((text) => {
    // Runtimes send either a bare IP or the IP with its prefix length ("10.1.2.3/24").
    const bare = text.includes("/") ? text.slice(0, text.indexOf("/")) : text;
    try {
      return parseIP(bare);
    } catch (e) {
      if (e instanceof AddressParseError) {
        throw new CniError(ErrorCode.InvalidNetworkConfig, `Requested IP "${text}" is invalid: ${e.reason}`);
      }
      throw e;
    }
  });
}
