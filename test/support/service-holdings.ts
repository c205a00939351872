/**
 * What a datastore's Service holdings are, and what they should be: every ClusterIP and NodePort
 * key as "ip holder" / "port/proto holder", for tests that check nothing is held by mistake.
 */
import { resourcesOf } from "../../src/cluster/service-holdings.ts";
import { listServiceIPs } from "../../src/cluster/service-ips.ts";
import { listNodePorts } from "../../src/cluster/service-node-ports.ts";
import type { Service } from "../../src/k8s/service-model.ts";
import type { Store } from "../../src/store/store.ts";

/** Every ClusterIP and NodePort key in the store, as "ip holder" / "port/proto holder". */
export async function holdings(s: Store): Promise<string[]> {
  const ips = (await listServiceIPs(s)).map((h) => `${h.ip} ${h.service}`);
  const ports = (await listNodePorts(s)).map((h) => `${h.port}/${h.protocol} ${h.service}`);
  return [...ips, ...ports].sort();
}

/** What `services` should hold, in the same form. */
export function serviceHoldings(services: readonly Service[]): string[] {
  return services
    .flatMap((svc) =>
      resourcesOf(svc).map((r) =>
        r.kind === "clusterIP"
          ? `${r.ip} ${svc.namespace}/${svc.name}`
          : `${r.port}/${r.protocol} ${svc.namespace}/${svc.name}`,
      ),
    )
    .sort();
}
