/**
 * What the CNI and plugin unit tests share: the CniError a call throws, and a podnet network
 * configuration parsed as the plugin reads it.
 */
import { CniError } from "../../src/cni/errors.ts";
import { type NetConf, parseNetConf } from "../../src/cni/netconf.ts";

/** The CniError `fn` throws; any other error is rethrown, and no error fails with `accepted`. */
export function cniFailure(fn: () => unknown, accepted = "expected a CniError"): CniError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error(accepted);
}

/** A podnet network configuration (CNI 1.1.0, network "net", built-in IPAM), `extra` on top. */
export const podnetNetConf = (
  extra: Record<string, unknown> = {},
  ipam: Record<string, unknown> = { type: "podnet-ipam", subnet: "10.244.1.0/24" },
): NetConf =>
  parseNetConf(JSON.stringify({ cniVersion: "1.1.0", name: "net", type: "podnet", ipam, ...extra }));
