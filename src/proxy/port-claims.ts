/**
 * Who gets a contested port, kept up to date one Service at a time (pure). The renderer decides
 * in key order: the first Service that asks for `ClusterIP . proto . port` gets it, and the first
 * that got its port and asks for a NodePort gets that (service-plan.ts, claimPorts). So the owner
 * a Service sees is the smallest key among the OTHER Services that want the key and sort before
 * it — which this index answers without walking the Services in between. Claims then still go
 * through claimPorts, so there is one definition of the rules and of their problem messages.
 *
 * Wanting a port does not depend on who won it; wanting a NodePort depends on having won its
 * port. A change therefore reaches at most two steps: the wanters of the ports it touched, then
 * the wanters of the NodePorts those gained or lost (`affected` collects both).
 */
import type { ServicePort } from "../k8s/service-model.ts";
import { claimPorts, type OwnerTable, type PortOwners } from "./service-plan.ts";
import { type FamilyService, nodePortKey, serviceIpKey } from "./service-rules.ts";

/** A Service as it asks for ports: resolved in the table's family, with its ports. */
export interface Claimant {
  readonly resolved: FamilyService;
  readonly ports: readonly ServicePort[];
}

/** Sorted keys, few per port (usually one): an array beats a tree here. */
function insertSorted(list: string[], key: string): void {
  let i = list.length;
  while (i > 0 && (list[i - 1] as string) > key) i--;
  if (list[i - 1] !== key) list.splice(i, 0, key);
}

class Wanters {
  private readonly byKey = new Map<string, string[]>();
  /** Service → the keys it wants now. */
  private readonly ofService = new Map<string, readonly string[]>();

  /** Replaces what `service` wants; returns the keys whose wanters changed. */
  set(service: string, keys: readonly string[]): string[] {
    const before = this.ofService.get(service) ?? [];
    const after = new Set(keys);
    const touched: string[] = [];
    for (const key of before) {
      if (after.has(key)) continue;
      const list = this.byKey.get(key);
      if (list === undefined) continue;
      const at = list.indexOf(service);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.byKey.delete(key);
      touched.push(key);
    }
    const had = new Set(before);
    for (const key of after) {
      if (had.has(key)) continue;
      let list = this.byKey.get(key);
      if (list === undefined) {
        list = [];
        this.byKey.set(key, list);
      }
      insertSorted(list, service);
      touched.push(key);
    }
    if (after.size === 0) this.ofService.delete(service);
    else this.ofService.set(service, [...after]);
    return touched;
  }

  /** The smallest wanter of `key` that sorts before `service`. */
  ownerBefore(key: string, service: string): string | undefined {
    const first = this.byKey.get(key)?.[0];
    return first !== undefined && first < service ? first : undefined;
  }

  wantersOf(key: string): readonly string[] {
    return this.byKey.get(key) ?? [];
  }
}

/** What claimPorts sees for one Service: the index first, then what the Service itself took. */
class OwnersFor implements OwnerTable {
  private readonly own = new Map<string, string>();
  constructor(
    private readonly wanters: Wanters,
    private readonly service: string,
    /** Answer as if nobody else had asked (to learn which NodePorts the Service asks for). */
    private readonly blind: boolean,
  ) {}
  get(key: string): string | undefined {
    return (this.blind ? undefined : this.wanters.ownerBefore(key, this.service)) ?? this.own.get(key);
  }
  set(key: string, owner: string): void {
    this.own.set(key, owner);
  }
}

export class PortClaims {
  private readonly ports = new Wanters();
  private readonly nodePorts = new Wanters();

  /**
   * Records the `ClusterIP . proto . port` keys `service` asks for (none when it is gone or not
   * rendered); returns the Services whose claims may have changed with it.
   */
  setPorts(service: string, keys: readonly string[], affected: Set<string>): void {
    for (const key of this.ports.set(service, keys))
      for (const wanter of this.ports.wantersOf(key)) affected.add(wanter);
  }

  /** The same for the NodePort keys (`proto . nodePort`) of the ports it won. */
  setNodePorts(service: string, keys: readonly string[], affected: Set<string>): void {
    for (const key of this.nodePorts.set(service, keys))
      for (const wanter of this.nodePorts.wantersOf(key)) affected.add(wanter);
  }

  /**
   * Step 1 of a change: records the `ClusterIP . proto . port` keys `service` asks for (every
   * valid port; none when it is gone or not rendered) and adds to `affected` the Services whose
   * claims may change with it.
   */
  askPorts(service: string, claimant: Claimant | undefined, affected: Set<string>): void {
    const asked = claimant
      ? claimPorts(
          claimant.resolved,
          claimant.ports,
          this.ownersFor(service, { ports: true, nodePorts: true }),
          [],
        )
      : undefined;
    const keys = asked?.ports.map((p) =>
      serviceIpKey(claimant?.resolved.clusterIP ?? "", p.protocol, p.port),
    );
    this.setPorts(service, keys ?? [], affected);
    affected.add(service);
  }

  /**
   * Step 2, once every change went through step 1: records the NodePorts of the ports `service`
   * now wins, and adds to `affected` the Services whose NodePort claims may change with them.
   */
  askNodePorts(service: string, claimant: Claimant | undefined, affected: Set<string>): void {
    const won = claimant
      ? claimPorts(
          claimant.resolved,
          claimant.ports,
          this.ownersFor(service, { ports: false, nodePorts: true }),
          [],
        )
      : undefined;
    const keys = (won?.ports ?? []).flatMap((p) =>
      p.nodePort === undefined ? [] : [nodePortKey(p.protocol, p.nodePort)],
    );
    this.setNodePorts(service, keys, affected);
  }

  /**
   * The owner tables claimPorts is run with for `service`. A blind table answers as if no other
   * Service asked for anything: with both blind, claimPorts returns every valid port the Service
   * asks for; with NodePorts blind, the ports it wins with every NodePort it asks for.
   */
  ownersFor(service: string, blind: { readonly ports: boolean; readonly nodePorts: boolean }): PortOwners {
    return {
      ports: new OwnersFor(this.ports, service, blind.ports),
      nodePorts: new OwnersFor(this.nodePorts, service, blind.nodePorts),
    };
  }
}
