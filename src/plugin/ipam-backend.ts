/**
 * What the main plugin needs from IPAM, whether it runs in-process (podnet-ipam, "builtin":
 * ipam-builtin.ts) or is a delegate plugin executed from CNI_PATH (e.g. the reference host-local:
 * ipam-delegate.ts).
 */
import type { AttachmentKey } from "../cni/attachment-key.ts";
import type { Result } from "../cni/result.ts";
import type { IPAddress } from "../ipnet/address.ts";
import type { PodIdentity } from "../node-state/node-state.ts";
import type { PodAddress, PodRoute } from "./link-plan.ts";

export interface IpamLease {
  readonly addresses: readonly PodAddress[];
  readonly routes: readonly PodRoute[];
  readonly dns?: Result["dns"];
  /**
   * False when the attachment already held these addresses (a repeated ADD): a failure after
   * this point must not release them, they belong to the pod that is already running.
   */
  readonly fresh: boolean;
}

export interface IpamBackend {
  /**
   * Allocates the attachment's addresses. `pod` is recorded with them where IPAM keeps podnet's
   * node state (podnet-ipam), for the agent to publish; a delegate keeps its own state and no pod.
   */
  add(requested: readonly IPAddress[], pod?: PodIdentity): IpamLease;
  /** Releases the attachment's addresses; succeeds when there is nothing to release. */
  del(): void;
  /** Throws unless the attachment holds (at least) every address in `expected`. */
  check(expected: readonly IPAddress[]): void;
  /** Releases every allocation (and pod row) of the network not in `valid`. */
  gc(valid: readonly AttachmentKey[]): void;
  /** Throws when IPAM could not serve an ADD now. */
  status(): void;
}
