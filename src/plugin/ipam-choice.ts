/**
 * Chooses the main plugin's IPAM backend for a podnet config: podnet-ipam in this process
 * (ipam-builtin.ts), or a delegate plugin executed from CNI_PATH (ipam-delegate.ts).
 */

import { unhandled } from "../base/unhandled.ts";
import type { PodnetConfig } from "./config.ts";
import type { IpamBackend } from "./ipam-backend.ts";
import { BuiltinIpam } from "./ipam-builtin.ts";
import { DelegateIpam } from "./ipam-delegate.ts";
import type { PluginRequest } from "./plugin-request.ts";

export function chooseIpam(config: PodnetConfig, req: PluginRequest): IpamBackend & { close?(): void } {
  const spec = config.ipam;
  switch (spec.kind) {
    case "builtin":
      return new BuiltinIpam(
        spec.config,
        {
          network: config.netconf.name,
          containerId: req.invocation.containerId,
          ifname: req.invocation.ifname,
        },
        req.stateCache,
      );
    case "delegate":
      return new DelegateIpam({
        type: spec.type,
        cniPath: req.invocation.path,
        stdin: req.stdin,
        env: req.env,
      });
    default: {
      unhandled(spec, (shown) => new Error(`unknown ipam kind ${shown}`));
    }
  }
}
