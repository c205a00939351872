/**
 * Service families in the datastore (KEP-563): one ClusterIP held per family the Service gets,
 * the families and policy stored with the record, nothing held when the families are refused.
 */
import { describe, expect, test } from "bun:test";
import { serviceHoldings as expected, holdings } from "../../test/support/service-holdings.ts";
import { useTempStores } from "../../test/support/temp-store.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { createService, getService } from "./service-store.ts";

const v4 = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const dual = buildClusterConfig({
  clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
  serviceCidrs: ["10.96.0.0/24", "fd00:10:96::/112"],
});
const store = useTempStores("podnet-svc-families");

describe("createService: address families", () => {
  test("PreferDualStack on a dual-stack cluster holds one ClusterIP per family, the requested one's first", async () => {
    const s = await store();
    const svc = await createService(s, dual, {
      namespace: "default",
      name: "ds",
      ports: [{ port: 80 }],
      clusterIPs: ["fd00:10:96::a"],
      ipFamilyPolicy: "PreferDualStack",
    });
    expect(svc.clusterIPs[0]).toBe("fd00:10:96::a");
    expect(svc.clusterIPs[1]).toMatch(/^10\.96\.0\./);
    expect([svc.ipFamilies, svc.ipFamilyPolicy]).toEqual([["IPv6", "IPv4"], "PreferDualStack"]);
    expect(await getService(s, "default", "ds")).toEqual(svc);
    expect(await holdings(s)).toEqual(expected([svc]));
  });

  test("by default a dual-stack cluster gives one ClusterIP, of its first service CIDR's family", async () => {
    const s = await store();
    const svc = await createService(s, dual, { namespace: "default", name: "one", ports: [{ port: 80 }] });
    expect(svc.clusterIPs).toHaveLength(1);
    expect(svc.clusterIPs[0]).toMatch(/^10\.96\.0\./);
    expect([svc.ipFamilies, svc.ipFamilyPolicy]).toEqual([["IPv4"], "SingleStack"]);
    expect(await holdings(s)).toEqual(expected([svc]));
  });

  test("RequireDualStack on a single-stack cluster is refused and holds nothing", async () => {
    const s = await store();
    const attempt = createService(s, v4, {
      namespace: "default",
      name: "both",
      ports: [{ port: 80, nodePort: "auto" }],
      ipFamilyPolicy: "RequireDualStack",
    });
    await expect(attempt).rejects.toThrow(
      'Invalid Service "default/both": ipFamilyPolicy is RequireDualStack, but the cluster has no IPv6 service CIDR',
    );
    expect(await holdings(s)).toEqual([]);
  });
});
