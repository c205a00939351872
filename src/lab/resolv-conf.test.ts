import { describe, expect, test } from "bun:test";
import { parseResolvConf, podDnsOf, renderResolvConf } from "./resolv-conf.ts";

const KUBELET_LIKE = {
  cniVersion: "1.0.0",
  dns: {
    nameservers: ["169.254.20.10"],
    search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
    options: ["ndots:5"],
  },
};

describe("podDnsOf and renderResolvConf", () => {
  test("a CNI result's dns becomes the resolv.conf kubelet would write (ClusterFirst)", () => {
    const dns = podDnsOf(KUBELET_LIKE);
    expect(dns).toBeDefined();
    expect(renderResolvConf(dns as NonNullable<typeof dns>)).toBe(
      [
        "# written by podnet lab from the pod's CNI result",
        "nameserver 169.254.20.10",
        "search default.svc.cluster.local svc.cluster.local cluster.local",
        "options ndots:5",
        "",
      ].join("\n"),
    );
  });

  test("no dns, or no nameserver in it: no resolv.conf (the pod keeps the host's)", () => {
    expect(podDnsOf({ cniVersion: "1.0.0" })).toBeUndefined();
    expect(podDnsOf(undefined)).toBeUndefined();
    expect(podDnsOf({ dns: { search: ["cluster.local"] } })).toBeUndefined();
  });

  test("values that would inject lines or are not what they claim are refused, naming them", () => {
    expect(() => podDnsOf({ dns: { nameservers: ["10.0.0.1\nnameserver 8.8.8.8"] } })).toThrow(
      /nameserver .* is not an IP address/,
    );
    expect(() => podDnsOf({ dns: { nameservers: ["10.0.0.1"], search: ["a b"] } })).toThrow(
      /search domain "a b"/,
    );
    expect(() => podDnsOf({ dns: { nameservers: ["10.0.0.1"], options: ["ndots:5 x"] } })).toThrow(
      /resolver option/,
    );
    expect(() => podDnsOf({ dns: { nameservers: "10.0.0.1" } })).toThrow(/not a list of strings/);
    expect(() => podDnsOf({ dns: [] })).toThrow(/not an object/);
    expect(() => podDnsOf({ dns: { nameservers: ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"] } })).toThrow(
      /at most 3/,
    );
  });

  test("an IPv6 nameserver is accepted", () => {
    expect(podDnsOf({ dns: { nameservers: ["fd00:10:254::10"] } })?.nameservers).toEqual(["fd00:10:254::10"]);
  });
});

describe("parseResolvConf", () => {
  test("reads back what was rendered; the last search line wins, comments are ignored", () => {
    const dns = podDnsOf(KUBELET_LIKE);
    const text = renderResolvConf(dns as NonNullable<typeof dns>);
    expect(parseResolvConf(text)).toEqual({
      nameservers: ["169.254.20.10"],
      search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
    });
    expect(parseResolvConf("search a\n# x\nnameserver 1.2.3.4\nsearch b c\n")).toEqual({
      nameservers: ["1.2.3.4"],
      search: ["b", "c"],
    });
  });
});
