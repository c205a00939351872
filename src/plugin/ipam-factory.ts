/** Chooses the IPAM backend for a podnet config: in-process podnet-ipam, or a delegate plugin. */
import type { Invocation } from "../cni/env.ts";
import { BuiltinIpam } from "./builtin-ipam.ts";
import type { PodnetConfig } from "./config.ts";
import { DelegateIpam } from "./delegate-ipam.ts";
import type { IpamBackend } from "./ipam-backend.ts";

export interface PluginRequest {
  readonly invocation: Invocation;
  /** stdin exactly as received (handed unchanged to a delegate). */
  readonly stdin: string;
  readonly env: Record<string, string | undefined>;
}

export function ipamFor(config: PodnetConfig, req: PluginRequest): IpamBackend & { close?(): void } {
  const spec = config.ipam;
  switch (spec.kind) {
    case "builtin":
      return new BuiltinIpam(spec.config, {
        network: config.netconf.name,
        containerId: req.invocation.containerId,
        ifname: req.invocation.ifname,
      });
    case "delegate":
      return new DelegateIpam({
        type: spec.type,
        cniPath: req.invocation.path,
        stdin: req.stdin,
        env: req.env,
      });
    default: {
      const never: never = spec;
      throw new Error(`unknown ipam kind ${JSON.stringify(never)}`);
    }
  }
}
