import { describe, expect, test } from "bun:test";
import { benchZoneEntries, type OwnedRecords, zoneRecords } from "./bench-zone.ts";
import { DnsmasqConfigError, dnsmasqFiles } from "./dnsmasq-config.ts";

const place = { address: "127.0.0.1", port: 5302, hostsFile: "/tmp/x/hosts", cacheSize: 10_000 };

describe("dnsmasq serving the benchmark's zone", () => {
  const owned = [...zoneRecords(benchZoneEntries(2, 2))];
  const files = dnsmasqFiles(owned, place);

  test("every Service and endpoint address is one hosts line (dnsmasq makes its PTR)", () => {
    expect(files.hosts.trim().split("\n")).toEqual([
      "10.96.0.1 svc-00000.bench.svc.cluster.local",
      "10.244.0.1 10-244-0-1.bench.pod.cluster.local",
      "10.244.0.2 10-244-0-2.bench.pod.cluster.local",
      "10.96.0.2 svc-00001.bench.svc.cluster.local",
      "10.244.0.3 10-244-0-3.bench.pod.cluster.local",
      "10.244.0.4 10-244-0-4.bench.pod.cluster.local",
    ]);
    expect(files.hostLines).toBe(6);
  });

  test("named ports are srv-host lines; the zone is local, no upstream, no /etc/hosts", () => {
    const lines = files.conf.split("\n");
    expect(lines.filter((l) => l.startsWith("srv-host="))).toEqual([
      "srv-host=_http._tcp.svc-00000.bench.svc.cluster.local,svc-00000.bench.svc.cluster.local,80,0,100",
      "srv-host=_http._tcp.svc-00001.bench.svc.cluster.local,svc-00001.bench.svc.cluster.local,80,0,100",
    ]);
    for (const l of [
      "no-resolv",
      "no-hosts",
      "local=/cluster.local/",
      "addn-hosts=/tmp/x/hosts",
      "port=5302",
      "local-ttl=5",
    ])
      expect(lines).toContain(l);
    // No PTR is left over for ptr-record: every one came with its hosts line.
    expect(lines.some((l) => l.startsWith("ptr-record="))).toBe(false);
  });

  test("a PTR that does not point back to its address's name cannot be expressed and is refused", () => {
    const odd: OwnedRecords[] = [
      { name: "a.bench.svc.cluster.local", records: [{ type: "A", data: "10.96.0.9" }] },
      { name: "9.0.96.10.in-addr.arpa", records: [{ type: "PTR", data: "b.bench.svc.cluster.local" }] },
    ];
    expect(() => dnsmasqFiles(odd, place)).toThrow(DnsmasqConfigError);
  });

  test("a lone PTR becomes a ptr-record", () => {
    const lone: OwnedRecords[] = [
      { name: "9.0.96.10.in-addr.arpa", records: [{ type: "PTR", data: "b.bench.svc.cluster.local" }] },
    ];
    expect(dnsmasqFiles(lone, place).conf).toContain(
      "ptr-record=9.0.96.10.in-addr.arpa,b.bench.svc.cluster.local",
    );
  });
});
