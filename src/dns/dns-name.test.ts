import { describe, expect, test } from "bun:test";
import { parseIP } from "../ipnet/address.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import {
  checkName,
  DnsNameError,
  dashedIP,
  isAtOrBelow,
  lookupKey,
  nameProblem,
  parentOf,
  reverseAncestor,
  reverseName,
  reversePrefix,
} from "./dns-name.ts";

describe("names", () => {
  test("are looked up lowercased without the root dot", () => {
    expect(lookupKey("Echo.Default.SVC.cluster.local.")).toBe("echo.default.svc.cluster.local");
    expect(lookupKey(".")).toBe("");
  });

  test("label and name limits are checked before dns-packet writes them", () => {
    expect(nameProblem("a".repeat(63))).toBeUndefined();
    expect(nameProblem(`${"a".repeat(64)}.test`)).toContain("longer than 63");
    expect(nameProblem(Array(64).fill("abc").join("."))).toContain("longer than 253");
    expect(nameProblem("a..b")).toBe("has an empty label");
    expect(nameProblem("caf\u00e9.test")).toContain("printable ASCII");
    expect(nameProblem("a b.test")).toContain("printable ASCII");
    expect(() => checkName("a..b")).toThrow(DnsNameError);
    expect(() => checkName("a..b")).toThrow('Invalid DNS name "a..b": has an empty label');
  });

  test("zones and parents", () => {
    expect(isAtOrBelow("echo.default.svc.cluster.local", "cluster.local")).toBe(true);
    expect(isAtOrBelow("cluster.local", "cluster.local")).toBe(true);
    expect(isAtOrBelow("notcluster.local", "cluster.local")).toBe(false);
    expect(parentOf("a.b")).toBe("b");
    expect(parentOf("b")).toBe("");
    expect(parentOf("")).toBeUndefined();
  });
});

describe("reverse names", () => {
  test("IPv4 and IPv6 addresses have their PTR owner names", () => {
    expect(reverseName(parseIP("10.96.0.10"))).toBe("10.0.96.10.in-addr.arpa");
    expect(reverseName(parseIP("fd00:10:96::a"))).toBe(
      "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa",
    );
  });

  test("a reverse name is read back as the prefix it covers", () => {
    const show = (n: string) => {
      const p = reversePrefix(n);
      return p === undefined ? undefined : formatPrefix(p);
    };
    expect(show("10.0.96.10.in-addr.arpa")).toBe("10.96.0.10/32");
    expect(show("96.10.in-addr.arpa")).toBe("10.96.0.0/16");
    expect(show(reverseName(parseIP("fd00:10:96::a")))).toBe("fd00:10:96::a/128");
    expect(show("d.f.ip6.arpa")).toBe("fd00::/8");
    expect(show("256.0.96.10.in-addr.arpa")).toBeUndefined();
    expect(show("01.0.96.10.in-addr.arpa")).toBeUndefined();
    expect(show("1.2.3.4.5.in-addr.arpa")).toBeUndefined();
    expect(show("ab.f.ip6.arpa")).toBeUndefined();
    expect(show("example.test")).toBeUndefined();
  });

  test("the whole-label ancestor of a CIDR, and dashed addresses", () => {
    expect(reverseAncestor(parseIP("10.97.0.5"), 12)).toBe("97.10.in-addr.arpa");
    expect(reverseAncestor(parseIP("10.244.1.5"), 16)).toBe("244.10.in-addr.arpa");
    expect(reverseAncestor(parseIP("fd00:10:244::5"), 64)).toBe("0.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa");
    expect(dashedIP(parseIP("10.244.1.5"))).toBe("10-244-1-5");
    expect(dashedIP(parseIP("fd00::5"))).toBe("fd00--5");
  });
});
