import { describe, expect, test } from "bun:test";
import { serviceHoldings as expected, holdings } from "../../test/support/service-holdings.ts";
import { useTempStores } from "../../test/support/temp-store.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import type { Store, TxnOp } from "../store/store.ts";
import { DatastoreUnavailableError } from "../store/store.ts";
import { NodePortUnavailableError, ServiceRollbackError } from "./service-errors.ts";
import { SERVICES_PREFIX } from "./service-record.ts";
import { createService, getService } from "./service-store.ts";

const v4 = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const store = useTempStores("podnet-svc-faults");

/** A store whose transactions matching `hit` fail with a lost answer, applied first when `apply`. */
function faulty(inner: Store, hit: (ops: readonly TxnOp[]) => boolean, apply: boolean): Store {
  return {
    description: inner.description,
    get: (k) => inner.get(k),
    list: (p) => inner.list(p),
    listPages: (p, n, f) => inner.listPages(p, n, f),
    put: (k, v, o) => inner.put(k, v, o),
    delete: (k) => inner.delete(k),
    txn: async (compares, success, failure) => {
      if (!hit(success)) return inner.txn(compares, success, failure);
      if (apply) await inner.txn(compares, success, failure);
      throw new DatastoreUnavailableError(inner.description, "request timed out");
    },
    grantLease: (t) => inner.grantLease(t),
    keepAlive: (id) => inner.keepAlive(id),
    revoke: (id) => inner.revoke(id),
    watch: (p, o) => inner.watch(p, o),
    compact: (r) => inner.compact(r),
    close: () => inner.close(),
  };
}

const writesRecord = (ops: readonly TxnOp[]) =>
  ops.some((o) => o.kind === "put" && o.key.startsWith(SERVICES_PREFIX));
const input = { namespace: "default", name: "web", ports: [{ port: 80, nodePort: "auto" as const }] };

describe("createService when the datastore fails", () => {
  test("a commit that landed although its answer was lost keeps its ClusterIP and NodePort", async () => {
    const s = await store();
    await expect(createService(faulty(s, writesRecord, true), v4, input)).rejects.toBeInstanceOf(
      DatastoreUnavailableError,
    );
    const svc = await getService(s, "default", "web");
    expect(svc).toBeDefined();
    expect(await holdings(s)).toEqual(expected(svc ? [svc] : []));
  });

  test("a commit that did not land releases everything", async () => {
    const s = await store();
    await expect(createService(faulty(s, writesRecord, false), v4, input)).rejects.toBeInstanceOf(
      DatastoreUnavailableError,
    );
    expect(await getService(s, "default", "web")).toBeUndefined();
    expect(await holdings(s)).toEqual([]);
  });

  test("when releasing fails too, the error says what is still held", async () => {
    const s = await store();
    await createService(s, v4, { namespace: "x", name: "blocker", ports: [{ port: 1, nodePort: 30002 }] });
    const deletes = (ops: readonly TxnOp[]) => ops.some((o) => o.kind === "delete");
    const error = await createService(faulty(s, deletes, false), v4, {
      namespace: "default",
      name: "web",
      ports: [{ port: 80, nodePort: 30002 }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceRollbackError);
    const rollback = error as ServiceRollbackError;
    expect(rollback.original).toBeInstanceOf(NodePortUnavailableError);
    expect(rollback.leftovers).toHaveLength(1);
    expect(rollback.message).toMatch(/still held: ClusterIP 10\.96\.0\.\d+$/);
  });
});
