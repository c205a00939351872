import { describe, expect, test } from "bun:test";
import type { Endpoint, Service } from "../k8s/service-model.ts";
import { ClusterZone } from "./cluster-zone.ts";

function service(name: string, clusterIPs: string[], extra: Partial<Service> = {}): Service {
  return {
    namespace: "default",
    name,
    clusterIPs,
    ports: [
      { name: "http", protocol: "TCP", port: 80, targetPort: 8080 },
      { protocol: "UDP", port: 53, targetPort: 5353 },
    ],
    sessionAffinity: { kind: "None" },
    selector: { app: name },
    ...extra,
  };
}

const endpoint = (pod: string, ip: string): Endpoint => ({ ip, node: "node1", pod: `default/${pod}` });

const types = (zone: ClusterZone, name: string) => {
  const found = zone.lookup(name);
  return found.kind === "nxdomain"
    ? "NXDOMAIN"
    : found.records.map((r) => `${r.type} ${JSON.stringify(r.data)}`);
};

describe("a Service with ClusterIPs", () => {
  const zone = new ClusterZone({ reverseCidrs: ["10.96.0.0/12", "fd00:10:96::/112", "10.244.0.0/16"] });
  zone.setService(service("echo", ["10.96.0.10", "fd00:10:96::a"]), [endpoint("echo-1", "10.244.1.5")]);

  test("answers A and AAAA per family, SRV for named ports only, PTR for each ClusterIP", () => {
    expect(types(zone, "echo.default.svc.cluster.local")).toEqual(['A "10.96.0.10"', 'AAAA "fd00:10:96::a"']);
    expect(types(zone, "_http._tcp.echo.default.svc.cluster.local")).toEqual([
      'SRV {"priority":0,"weight":100,"port":80,"target":"echo.default.svc.cluster.local"}',
    ]);
    expect(types(zone, "_dns._udp.echo.default.svc.cluster.local")).toBe("NXDOMAIN");
    expect(types(zone, "10.0.96.10.in-addr.arpa")).toEqual(['PTR "echo.default.svc.cluster.local"']);
    expect(types(zone, "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa")).toEqual([
      'PTR "echo.default.svc.cluster.local"',
    ]);
  });

  test("endpoint addresses answer PTR to a pod name that resolves back", () => {
    expect(types(zone, "5.1.244.10.in-addr.arpa")).toEqual(['PTR "10-244-1-5.default.pod.cluster.local"']);
    expect(types(zone, "10-244-1-5.default.pod.cluster.local")).toEqual(['A "10.244.1.5"']);
    // Not a headless Service: no per-endpoint name under the Service.
    expect(types(zone, "echo-1.echo.default.svc.cluster.local")).toBe("NXDOMAIN");
  });

  test("empty non-terminals exist (NODATA), names beside them do not", () => {
    for (const name of [
      "cluster.local",
      "svc.cluster.local",
      "default.svc.cluster.local",
      "_tcp.echo.default.svc.cluster.local",
      "96.10.in-addr.arpa",
      "in-addr.arpa",
    ])
      expect({ name, found: zone.lookup(name).kind }).toEqual({ name, found: "exists" });
    expect(types(zone, "other.svc.cluster.local")).toBe("NXDOMAIN");
    expect(types(zone, "nope.default.svc.cluster.local")).toBe("NXDOMAIN");
    expect(types(zone, "11.0.96.10.in-addr.arpa")).toBe("NXDOMAIN");
  });

  test("the zone owns dns-version and the SOA at its apex", () => {
    expect(types(zone, "dns-version.cluster.local")).toEqual(['TXT "1.1.0"']);
    const apex = zone.lookup("cluster.local");
    expect(apex.kind === "exists" && apex.records.map((r) => r.type)).toEqual(["SOA"]);
  });

  test("the reverse zones of the cluster's CIDRs are its own, whole labels at a time", () => {
    expect(zone.apexOf("echo.default.svc.cluster.local")).toBe("cluster.local");
    expect(zone.apexOf("5.0.97.10.in-addr.arpa")).toBe("97.10.in-addr.arpa");
    expect(zone.apexOf("97.10.in-addr.arpa")).toBe("97.10.in-addr.arpa");
    expect(zone.apexOf("10.in-addr.arpa")).toBeUndefined();
    expect(zone.apexOf("5.0.0.11.in-addr.arpa")).toBeUndefined();
    expect(zone.apexOf("example.test")).toBeUndefined();
    // Below an apex whatever the labels: a name under a PTR owner, a leading zero, letters.
    expect(zone.apexOf("x.5.0.97.10.in-addr.arpa")).toBe("97.10.in-addr.arpa");
    expect(zone.apexOf("05.0.97.10.in-addr.arpa")).toBe("97.10.in-addr.arpa");
    expect(zone.apexOf("foo.97.10.in-addr.arpa")).toBe("97.10.in-addr.arpa");
    expect(zone.apexOf("foo.10.in-addr.arpa")).toBeUndefined();
    expect(types(zone, "x.5.0.97.10.in-addr.arpa")).toBe("NXDOMAIN");
    // fd00:10:96::/112 is 28 nibbles: its zone is the name of those 28.
    expect(zone.apexOf("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa")).toBe(
      "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa",
    );
  });
});

describe("a headless Service", () => {
  test("answers its ready endpoints, one name per endpoint, SRV per endpoint and PTR to it", () => {
    const zone = new ClusterZone();
    zone.setService(service("db", []), [
      endpoint("db-0", "10.244.1.5"),
      endpoint("db-0", "fd00:10:244::5"),
      endpoint("db-1", "10.244.2.7"),
    ]);
    expect(types(zone, "db.default.svc.cluster.local")).toEqual([
      'A "10.244.1.5"',
      'AAAA "fd00:10:244::5"',
      'A "10.244.2.7"',
    ]);
    expect(types(zone, "db-0.db.default.svc.cluster.local")).toEqual([
      'A "10.244.1.5"',
      'AAAA "fd00:10:244::5"',
    ]);
    expect(types(zone, "_http._tcp.db.default.svc.cluster.local")).toEqual([
      'SRV {"priority":0,"weight":50,"port":8080,"target":"db-0.db.default.svc.cluster.local"}',
      'SRV {"priority":0,"weight":50,"port":8080,"target":"db-1.db.default.svc.cluster.local"}',
    ]);
    expect(types(zone, "7.2.244.10.in-addr.arpa")).toEqual(['PTR "db-1.db.default.svc.cluster.local"']);
  });

  test("a pod name that is not a DNS label is replaced by the dashed address", () => {
    const zone = new ClusterZone();
    zone.setService(service("db", []), [endpoint("Db.0", "10.244.1.5")]);
    expect(types(zone, "10-244-1-5.db.default.svc.cluster.local")).toEqual(['A "10.244.1.5"']);
  });

  test("without ready endpoints the name does not exist, and the namespace only while others have names", () => {
    const zone = new ClusterZone();
    zone.setService(service("db", []), [endpoint("db-0", "10.244.1.5")]);
    zone.setService(service("db", []), []);
    expect(types(zone, "db.default.svc.cluster.local")).toBe("NXDOMAIN");
    expect(types(zone, "db-0.db.default.svc.cluster.local")).toBe("NXDOMAIN");
    expect(types(zone, "5.1.244.10.in-addr.arpa")).toBe("NXDOMAIN");
    expect(types(zone, "default.svc.cluster.local")).toBe("NXDOMAIN");
  });
});

describe("updates", () => {
  test("one Service changes without touching the others; deletes remove every name it had", () => {
    const zone = new ClusterZone();
    zone.setService(service("a", ["10.96.0.1"]), []);
    zone.setService(service("b", ["10.96.0.2"]), []);
    const serial = zone.serial;
    zone.setService(service("a", ["10.96.0.3"]), []);
    expect(zone.serial).toBe(serial + 1);
    expect(types(zone, "a.default.svc.cluster.local")).toEqual(['A "10.96.0.3"']);
    expect(types(zone, "1.0.96.10.in-addr.arpa")).toBe("NXDOMAIN");
    expect(types(zone, "b.default.svc.cluster.local")).toEqual(['A "10.96.0.2"']);
    zone.deleteService("default/a");
    zone.deleteService("default/b");
    expect(zone.serviceCount).toBe(0);
    expect(types(zone, "a.default.svc.cluster.local")).toBe("NXDOMAIN");
    expect(types(zone, "svc.cluster.local")).toBe("NXDOMAIN");
    expect(types(zone, "in-addr.arpa")).toBe("NXDOMAIN");
    // The zone's own names stay.
    expect(types(zone, "dns-version.cluster.local")).toEqual(['TXT "1.1.0"']);
  });

  test("a pod address behind two Services keeps its PTR until both are gone", () => {
    const zone = new ClusterZone();
    zone.setService(service("a", ["10.96.0.1"]), [endpoint("p", "10.244.1.5")]);
    zone.setService(service("b", ["10.96.0.2"]), [endpoint("p", "10.244.1.5")]);
    zone.deleteService("default/a");
    expect(types(zone, "5.1.244.10.in-addr.arpa")).toEqual(['PTR "10-244-1-5.default.pod.cluster.local"']);
    zone.reset([]);
    expect(types(zone, "5.1.244.10.in-addr.arpa")).toBe("NXDOMAIN");
  });

  test("names are stored lowercase; TTL and domain are checked", () => {
    const zone = new ClusterZone({ domain: "Cluster.Example.", ttl: 30 });
    zone.setService(service("echo", ["10.96.0.10"]), []);
    expect(types(zone, "echo.default.svc.cluster.example")).toEqual(['A "10.96.0.10"']);
    expect(zone.soa("cluster.example").data.minimum).toBe(30);
    expect(() => new ClusterZone({ ttl: 4000 })).toThrow("DNS TTL 4000 is out of range");
    expect(() => new ClusterZone({ domain: "bad..domain" })).toThrow("has an empty label");
  });
});
