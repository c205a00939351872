/**
 * podnet-ipam run in this process ("builtin"): addresses from the configured ranges, held in the
 * node state under dataDir. The main plugin uses it for `"ipam": {"type": "podnet-ipam"}`, and the
 * standalone `podnet-ipam` executable (podnet-ipam-plugin.ts) is a thin wrapper around it.
 */
import type { AttachmentKey } from "../cni/attachment-key.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP, ipEquals } from "../ipnet/address.ts";
import { type Allocation, NodeState, type PodIdentity } from "../node-state/node-state.ts";
import type { IpamBackend, IpamLease } from "./ipam-backend.ts";
import type { NodeStateCache } from "./plugin-request.ts";
import type { PodnetIpamConfig } from "./podnet-ipam-config.ts";

export class AllocationMismatchError extends Error {
  override readonly name = "AllocationMismatchError";
}

export function leaseFromAllocations(
  allocations: readonly Allocation[],
  config: PodnetIpamConfig,
  fresh: boolean,
): IpamLease {
  return {
    addresses: allocations.map((a) => ({
      ip: a.ip,
      prefixLength: a.subnet.length,
      ...(a.gateway ? { gateway: a.gateway } : {}),
    })),
    routes: config.routes,
    fresh,
  };
}

export class BuiltinIpam implements IpamBackend {
  private state: NodeState | undefined;

  constructor(
    private readonly config: PodnetIpamConfig,
    private readonly key: AttachmentKey,
    private readonly cache?: NodeStateCache,
  ) {}

  /** Opened lazily: VERSION and argument errors never touch the disk. */
  private db(): NodeState {
    this.state ??= this.cache?.use(this.config.dataDir) ?? NodeState.open(this.config.dataDir);
    return this.state;
  }

  close(): void {
    // A cached state is its cache's to close.
    if (this.cache === undefined) this.state?.close();
    this.state = undefined;
  }

  add(requested: readonly IPAddress[], pod?: PodIdentity): IpamLease {
    const { allocations, existing } = this.db().allocate(this.key, this.config.rangeSets, requested, pod);
    return leaseFromAllocations(allocations, this.config, !existing);
  }

  del(): void {
    this.db().release(this.key);
  }

  check(expected: readonly IPAddress[]): void {
    const held = this.db().find(this.key);
    const where = `container "${this.key.containerId}" interface "${this.key.ifname}" in network "${this.key.network}"`;
    if (held.length === 0) throw new AllocationMismatchError(`IPAM holds no address for ${where}`);
    for (const ip of expected) {
      if (!held.some((a) => ipEquals(a.ip, ip))) {
        throw new AllocationMismatchError(`IPAM does not hold ${formatIP(ip)} for ${where}`);
      }
    }
  }

  gc(valid: readonly AttachmentKey[]): void {
    const keep = new Set(valid.map((a) => `${a.containerId}\0${a.ifname}`));
    const db = this.db();
    const errors: string[] = [];
    // Pod rows are released with their addresses; a row left without any is found by its own key.
    const held = new Map<string, AttachmentKey>();
    for (const a of [...db.list(this.key.network), ...db.podKeys(this.key.network)])
      held.set(`${a.containerId}\0${a.ifname}`, a);
    for (const [id, a] of held) {
      if (keep.has(id)) continue;
      try {
        db.release({ network: a.network, containerId: a.containerId, ifname: a.ifname });
      } catch (e) {
        // GC keeps going past single failures (CNI spec, GC) and reports them all at the end.
        errors.push(`${a.containerId}/${a.ifname}: ${(e as Error).message}`);
      }
    }
    if (errors.length > 0)
      throw new Error(`GC could not release ${errors.length} allocation(s): ${errors.join("; ")}`);
  }

  status(): void {
    this.db().probe();
  }
}
