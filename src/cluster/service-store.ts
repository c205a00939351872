/**
 * Services in the datastore: created all-or-nothing (ClusterIPs and NodePorts claimed by
 * compare-and-swap, then the record written in a transaction that checks every claim is still
 * ours), deleted together with what they hold, listed and watched by the proxies.
 */
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { formatIP } from "../ipnet/address.ts";
import type { Service, ServicePort } from "../k8s/service-model.ts";
import type { Compare, Store, Watch } from "../store/store.ts";
import { LIST_PAGE_SIZE } from "./pod-records.ts";
import {
  InvalidServiceRecordError,
  ServiceExistsError,
  ServiceNotFoundError,
  ServiceRollbackError,
} from "./service-errors.ts";
import type { HeldResource } from "./service-holdings.ts";
import {
  describeHeldResource,
  heldBy,
  heldResourceKey,
  resourcesHeldBy,
  resourcesOf,
} from "./service-holdings.ts";
import { allocateClusterIP } from "./service-ips.ts";
import { allocateNodePort, releaseIfHeld } from "./service-node-ports.ts";
import {
  encodeService,
  parseServiceRecord,
  SERVICES_PREFIX,
  serviceIdFromKey,
  serviceRecordKey,
} from "./service-record.ts";
import type { ServiceInput } from "./service-validation.ts";
import { planService } from "./service-validation.ts";

/**
 * Releases a claim after a commit whose answer was lost (the datastore failed mid-call): the
 * record may have landed. The claim goes only if the record is absent or is not this attempt's
 * (a rival creator of the same name won); a commit landing later then fails, its claims gone.
 */
async function releaseUnlessCommitted(
  store: Store,
  key: string,
  committed: string,
  r: HeldResource,
  id: string,
) {
  const held = heldBy(r, id);
  const drop = [{ kind: "delete" as const, key: heldResourceKey(r) }];
  for (let attempt = 0; attempt < 10; attempt++) {
    if ((await store.txn([{ key, target: "version", op: "=", value: 0 }, held], drop)).succeeded) return;
    if ((await store.txn([{ key, target: "value", op: "!=", value: committed }, held], drop)).succeeded)
      return;
    const [record, claim] = await Promise.all([store.get(key), store.get(heldResourceKey(r))]);
    if (record?.value === committed || claim?.value !== held.value) return;
  }
}

/** Gives back what a failed creation had claimed; `uncertain` is the record if its commit's outcome is unknown. */
async function rollback(
  store: Store,
  id: string,
  key: string,
  held: readonly HeldResource[],
  cause: unknown,
  uncertain: string | undefined,
) {
  const leftovers: string[] = [];
  let failure: Error | undefined;
  for (const r of held) {
    try {
      if (uncertain === undefined) await releaseIfHeld(store, heldResourceKey(r), id);
      else await releaseUnlessCommitted(store, key, uncertain, r, id);
    } catch (e) {
      leftovers.push(describeHeldResource(r));
      failure ??= e instanceof Error ? e : new Error(String(e));
    }
  }
  if (failure !== undefined && cause instanceof Error)
    throw new ServiceRollbackError(id, cause, leftovers, failure);
}

/**
 * Creates a Service: validates `input`, resolves its families (service-families.ts), claims one
 * ClusterIP per family and the NodePorts asked for (a headless Service claims neither), then writes the record.
 * If any step fails, everything already claimed is released and the error is rethrown.
 */
export async function createService(
  store: Store,
  config: ClusterConfig,
  input: ServiceInput,
): Promise<Service> {
  const plan = planService(input, config);
  const id = `${plan.namespace}/${plan.name}`;
  const key = serviceRecordKey(plan.namespace, plan.name);
  if (await store.get(key)) throw new ServiceExistsError(id);
  const held: HeldResource[] = [];
  let uncertain: string | undefined;
  try {
    const clusterIPs: string[] = [];
    for (const c of plan.clusterIPs) {
      const ip = formatIP(await allocateClusterIP(store, config, c.family, id, c.requested));
      held.push({ kind: "clusterIP", ip });
      clusterIPs.push(ip);
    }
    // Requested NodePorts first, so an automatic pick cannot take one another port of this Service asked for.
    const order = plan.ports.map((_, i) => i).sort((a, b) => auto(plan.ports[a]) - auto(plan.ports[b]));
    const nodePorts = new Map<number, number>();
    for (const i of order) {
      const p = plan.ports[i];
      if (p?.nodePort === undefined) continue;
      const port = await allocateNodePort(
        store,
        p.protocol,
        id,
        p.nodePort === "auto" ? undefined : p.nodePort,
      );
      held.push({ kind: "nodePort", protocol: p.protocol, port });
      nodePorts.set(i, port);
    }
    const service: Service = {
      namespace: plan.namespace,
      name: plan.name,
      ...(plan.headless ? { headless: true as const } : {}),
      clusterIPs,
      ipFamilies: plan.ipFamilies,
      ipFamilyPolicy: plan.ipFamilyPolicy,
      ports: plan.ports.map((p, i): ServicePort => {
        const { nodePort: _planned, ...rest } = p;
        const port = nodePorts.get(i);
        return port === undefined ? rest : { ...rest, nodePort: port };
      }),
      sessionAffinity: plan.sessionAffinity,
      selector: plan.selector,
    };
    const record = encodeService(service);
    uncertain = record;
    const r = await store.txn(
      [{ key, target: "version", op: "=", value: 0 }, ...held.map((h) => heldBy(h, id))],
      [{ kind: "put", key, value: record }],
    );
    uncertain = undefined;
    if (!r.succeeded) {
      if (await store.get(key)) throw new ServiceExistsError(id);
      throw new Error(
        `Cannot create Service "${id}": one of ${held.map(describeHeldResource).join(", ")} was released while it was being created`,
      );
    }
    return service;
  } catch (e) {
    await rollback(store, id, key, held, e, uncertain);
    throw e;
  }
}

const auto = (p: { readonly nodePort?: number | "auto" } | undefined) => (p?.nodePort === "auto" ? 1 : 0);

export async function getService(
  store: Store,
  namespace: string,
  name: string,
): Promise<Service | undefined> {
  const key = serviceRecordKey(namespace, name);
  const kv = await store.get(key);
  return kv ? parseServiceRecord(key, kv.value) : undefined;
}

export interface ServiceList {
  /** Sorted by namespace, then name. */
  readonly services: Service[];
  /** Records that could not be read, with the reason. */
  readonly invalid: string[];
  /** Watch from revision + 1 to miss nothing. */
  readonly revision: number;
}

/** Records read per page of a listing: the raw text of one page is held at a time. */

export async function listServices(store: Store): Promise<ServiceList> {
  const services: Service[] = [];
  const invalid: string[] = [];
  const revision = await store.listPages(SERVICES_PREFIX, LIST_PAGE_SIZE, (kvs) => {
    for (const kv of kvs) {
      try {
        services.push(parseServiceRecord(kv.key, kv.value));
      } catch (e) {
        if (!(e instanceof InvalidServiceRecordError)) throw e;
        invalid.push(e.message);
      }
    }
  });
  services.sort((a, b) =>
    a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace),
  );
  return { services, invalid, revision };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface DeletedService {
  /** The record as it was; undefined when it was unreadable (its holdings were found by owner). */
  readonly service: Service | undefined;
  readonly released: readonly HeldResource[];
}

/** Deletes a Service and releases its ClusterIPs and NodePorts. */
export async function deleteService(store: Store, namespace: string, name: string): Promise<DeletedService> {
  const id = `${namespace}/${name}`;
  const key = serviceRecordKey(namespace, name);
  for (let attempt = 0; attempt < 20; attempt++) {
    const kv = await store.get(key);
    if (!kv) throw new ServiceNotFoundError(id);
    let service: Service | undefined;
    try {
      service = parseServiceRecord(key, kv.value);
    } catch (e) {
      if (!(e instanceof InvalidServiceRecordError)) throw e;
    }
    const held = service ? resourcesOf(service) : await resourcesHeldBy(store, id);
    const same: Compare = { key, target: "modRevision", op: "=", value: kv.modRevision };
    // One transaction in the usual case, so no crash can leave addresses held by a deleted Service.
    const whole = await store.txn(
      [same, ...held.map((h) => heldBy(h, id))],
      [{ kind: "delete", key }, ...held.map((h) => ({ kind: "delete" as const, key: heldResourceKey(h) }))],
    );
    if (whole.succeeded) return { service, released: held };
    // Some holding is no longer ours (released by a repair): delete the record, release the rest.
    const alone = await store.txn([same], [{ kind: "delete", key }]);
    if (!alone.succeeded) continue;
    const released: HeldResource[] = [];
    for (const h of held) if (await releaseIfHeld(store, heldResourceKey(h), id)) released.push(h);
    return { service, released };
  }
  throw new Error(`Cannot delete Service "${id}": it keeps changing under us`);
}

export type ServiceEvent =
  | { readonly type: "put"; readonly service: Service; readonly revision: number }
  | { readonly type: "delete"; readonly namespace: string; readonly name: string; readonly revision: number }
  | { readonly type: "invalid"; readonly key: string; readonly reason: string; readonly revision: number };

/** Calls `onEvents` with every change to any Service from `fromRevision` on, records decoded. */
export function watchServices(
  store: Store,
  fromRevision: number,
  onEvents: (events: readonly ServiceEvent[]) => void,
  onError: (e: Error) => void,
): Watch {
  return store.watch(SERVICES_PREFIX, {
    fromRevision,
    onError,
    onEvents: (events) => {
      const decoded: ServiceEvent[] = [];
      for (const ev of events) {
        if (ev.type === "delete") {
          const sid = serviceIdFromKey(ev.key);
          if (sid) decoded.push({ type: "delete", ...sid, revision: ev.revision });
          continue;
        }
        try {
          decoded.push({
            type: "put",
            service: parseServiceRecord(ev.kv.key, ev.kv.value),
            revision: ev.revision,
          });
        } catch (e) {
          if (!(e instanceof InvalidServiceRecordError)) throw e;
          decoded.push({ type: "invalid", key: ev.kv.key, reason: e.message, revision: ev.revision });
        }
      }
      if (decoded.length > 0) onEvents(decoded);
    },
  });
}
