/**
 * Headless Services in the datastore: created, listed and deleted like any other, holding
 * nothing besides their record, and read back headless.
 */
import { describe, expect, test } from "bun:test";
import { serviceHoldings as expected, holdings } from "../../test/support/service-holdings.ts";
import { useTempStores } from "../../test/support/temp-store.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { createService, deleteService, getService, listServices } from "./service-store.ts";

const dual = buildClusterConfig({
  clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
  serviceCidrs: ["10.96.0.0/24", "fd00:10:96::/112"],
});
const store = useTempStores("podnet-svc-headless");

describe("headless Services", () => {
  test("a headless Service holds no ClusterIP and no NodePort, even on a dual-stack cluster, and is read back headless", async () => {
    const s = await store();
    const other = await createService(s, dual, { namespace: "default", name: "web", ports: [{ port: 80 }] });
    const db = await createService(s, dual, {
      namespace: "default",
      name: "db",
      headless: true,
      ports: [{ name: "pg", port: 5432 }],
      selector: { app: "db" },
    });
    expect(db).toEqual({
      namespace: "default",
      name: "db",
      headless: true,
      clusterIPs: [],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      ports: [{ name: "pg", protocol: "TCP", port: 5432, targetPort: 5432 }],
      sessionAffinity: { kind: "None" },
      selector: { app: "db" },
    });
    expect(await getService(s, "default", "db")).toEqual(db);
    expect((await listServices(s)).services).toEqual([db, other]);
    expect(await holdings(s)).toEqual(expected([other]));
    await expect(
      createService(s, dual, {
        namespace: "default",
        name: "db2",
        headless: true,
        ports: [{ port: 1, nodePort: "auto" }],
      }),
    ).rejects.toThrow("a headless Service has no NodePorts");
    expect(await holdings(s)).toEqual(expected([other]));
    expect(await deleteService(s, "default", "db")).toEqual({ service: db, released: [] });
    expect(await holdings(s)).toEqual(expected([other]));
  });
});
