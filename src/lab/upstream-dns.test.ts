import { describe, expect, test } from "bun:test";
import { renderDnsmasqConf, stopUpstreamDns } from "./upstream-dns.ts";

describe("renderDnsmasqConf", () => {
  test("the zone only, on the host's own address, with no upstream and no host files", () => {
    const conf = renderDnsmasqConf(["203.0.113.100"]).split("\n");
    for (const line of [
      "no-resolv",
      "no-hosts",
      "listen-address=203.0.113.100",
      "bind-interfaces",
      "local=/example.test/",
      "host-record=www.example.test,203.0.113.100",
      'txt-record=lab.example.test,"podnet lab upstream"',
    ])
      expect(conf).toContain(line);
    expect(conf.some((l) => l.startsWith("server="))).toBe(false);
  });

  test("a dual lab: dnsmasq listens on both addresses and www.example.test has A and AAAA", () => {
    const conf = renderDnsmasqConf(["203.0.113.100", "2001:DB8:3:0::100"]).split("\n");
    expect(conf.filter((l) => l.startsWith("listen-address="))).toEqual([
      "listen-address=203.0.113.100",
      "listen-address=2001:db8:3::100",
    ]);
    expect(conf).toContain("host-record=www.example.test,203.0.113.100,2001:db8:3::100");
    const v6 = renderDnsmasqConf(["2001:db8:3::100"]).split("\n");
    expect(v6).toContain("host-record=www.example.test,2001:db8:3::100");
  });

  test("anything but one address per family is refused", () => {
    expect(() => renderDnsmasqConf(["203.0.113.100/24"])).toThrow();
    expect(() => renderDnsmasqConf(["203.0.113.100\nserver=8.8.8.8"])).toThrow();
    expect(() => renderDnsmasqConf([])).toThrow(/no address/);
    expect(() => renderDnsmasqConf(["203.0.113.100", "203.0.113.101"])).toThrow(/repeat a family/);
  });
});

describe("stopUpstreamDns", () => {
  test("a pid that does not run the lab's dnsmasq is not signalled", () => {
    expect(stopUpstreamDns(process.pid, "/tmp/no-such-lab")).toBe(false);
    expect(stopUpstreamDns(undefined, "/tmp/x")).toBe(false);
    expect(stopUpstreamDns(1, "/tmp/x")).toBe(false);
  });
});
