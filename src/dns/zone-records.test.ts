import { describe, expect, test } from "bun:test";
import type { Endpoint, Service } from "../k8s/service-model.ts";
import type { RecordsByName } from "./zone-records.ts";
import { serviceRecords } from "./zone-records.ts";

const DOMAIN = "cluster.local";
const NAME = "db.default.svc.cluster.local";
const endpoints: Endpoint[] = [
  { ip: "10.244.1.5", node: "node1", pod: "default/db-0" },
  { ip: "fd00:10:244:1::5", node: "node1", pod: "default/db-0" },
];

function headless(extra: Partial<Service>): Service {
  return {
    namespace: "default",
    name: "db",
    headless: true,
    clusterIPs: [],
    ports: [{ name: "pg", protocol: "TCP", port: 5432, targetPort: 5432 }],
    sessionAffinity: { kind: "None" },
    selector: { app: "db" },
    ...extra,
  };
}

const addresses = (records: RecordsByName, name: string) =>
  (records.get(name) ?? [])
    .filter((r) => r.type === "A" || r.type === "AAAA")
    .map((r) => `${r.type} ${r.data}`);

describe("headless Service records per family", () => {
  test("a SingleStack Service answers only its family: no AAAA for IPv4, no A for IPv6", () => {
    const v4 = serviceRecords(
      headless({ ipFamilies: ["IPv4"], ipFamilyPolicy: "SingleStack" }),
      endpoints,
      DOMAIN,
    );
    expect(addresses(v4, NAME)).toEqual(["A 10.244.1.5"]);
    expect(addresses(v4, `db-0.${NAME}`)).toEqual(["A 10.244.1.5"]);
    expect(v4.has("5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa")).toBe(false);
    const v6 = serviceRecords(
      headless({ ipFamilies: ["IPv6"], ipFamilyPolicy: "SingleStack" }),
      endpoints,
      DOMAIN,
    );
    expect(addresses(v6, NAME)).toEqual(["AAAA fd00:10:244:1::5"]);
    expect(v6.has("5.1.244.10.in-addr.arpa")).toBe(false);
  });

  test("a dual-stack Service, and one written before Services had families, answer both", () => {
    const both = headless({ ipFamilies: ["IPv4", "IPv6"], ipFamilyPolicy: "PreferDualStack" });
    const old = headless({});
    for (const s of [both, old])
      expect(addresses(serviceRecords(s, endpoints, DOMAIN), NAME)).toEqual([
        "A 10.244.1.5",
        "AAAA fd00:10:244:1::5",
      ]);
  });

  test("a Service with a ClusterIP gives pod names only to endpoint addresses of its families", () => {
    const { headless: _, ...db } = headless({});
    const podNames = (s: Service) =>
      [...serviceRecords(s, endpoints, DOMAIN).keys()].filter((n) => n.endsWith(".pod.cluster.local"));
    expect(podNames({ ...db, clusterIPs: ["10.96.0.10"] })).toEqual(["10-244-1-5.default.pod.cluster.local"]);
    expect(podNames({ ...db, clusterIPs: ["10.96.0.10", "fd00:10:96::a"] })).toHaveLength(2);
    expect(addresses(serviceRecords({ ...db, clusterIPs: ["10.96.0.10"] }, endpoints, DOMAIN), NAME)).toEqual(
      ["A 10.96.0.10"],
    );
  });

  test("SRV weights share 100 among pods, not among addresses: a dual-stack pod is one target", () => {
    const two: Endpoint[] = [
      ...endpoints,
      { ip: "10.244.2.7", node: "node2", pod: "default/db-1" },
      { ip: "fd00:10:244:2::7", node: "node2", pod: "default/db-1" },
    ];
    const dual = headless({ ipFamilies: ["IPv4", "IPv6"], ipFamilyPolicy: "PreferDualStack" });
    const srv = (serviceRecords(dual, two, DOMAIN).get(`_pg._tcp.${NAME}`) ?? []).map((r) =>
      JSON.stringify(r.data),
    );
    expect(srv).toEqual([
      `{"priority":0,"weight":50,"port":5432,"target":"db-0.${NAME}"}`,
      `{"priority":0,"weight":50,"port":5432,"target":"db-1.${NAME}"}`,
    ]);
  });
});
