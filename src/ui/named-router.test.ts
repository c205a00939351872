import { describe, expect, test } from "bun:test";
import { checkNamedRouters, NamedRouterError, parseNamedRouter } from "./named-router.ts";

describe("parseNamedRouter", () => {
  test("NAME=IP,IP gives the router with its addresses in canonical form", () => {
    expect(parseNamedRouter("edge-1=192.0.2.1,2001:DB8::0:1")).toEqual({
      name: "edge-1",
      addresses: ["192.0.2.1", "2001:db8::1"],
    });
  });

  test.each([
    ["no equals sign", "router", /NAME=IP/],
    ["no address", "r1=", /names no address/],
    ["an upper-case name", "Router=192.0.2.1", /lower-case/],
    ["a name with a dot", "a.b=192.0.2.1", /like a DNS label/],
    ["a trailing hyphen", "r-=192.0.2.1", /like a DNS label/],
    ["an empty name", "=192.0.2.1", /router name ""/],
    ["a bad address", "r1=192.0.2.1,192.0.2.300", /"192.0.2.300" is not an IP address/],
    ["an empty address", "r1=192.0.2.1,", /"" is not an IP address/],
    ["an address with a prefix", "r1=192.0.2.1/24", /not an IP address/],
    ["an address twice", "r1=2001:db8::1,2001:DB8:0::1", /address 2001:db8::1 is given twice/],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parseNamedRouter(text)).toThrow(NamedRouterError);
    expect(() => parseNamedRouter(text)).toThrow(message);
  });

  test("refuses a name longer than a DNS label", () => {
    expect(() => parseNamedRouter(`${"a".repeat(64)}=192.0.2.1`)).toThrow(/1 to 63/);
    expect(parseNamedRouter(`${"a".repeat(63)}=192.0.2.1`).name).toHaveLength(63);
  });
});

describe("checkNamedRouters", () => {
  test("refuses a name or an address given to two routers", () => {
    expect(() =>
      checkNamedRouters([
        { name: "a", addresses: ["192.0.2.1"] },
        { name: "a", addresses: ["192.0.2.2"] },
      ]),
    ).toThrow('router "a" is named twice');
    expect(() =>
      checkNamedRouters([
        { name: "a", addresses: ["192.0.2.1"] },
        { name: "b", addresses: ["192.0.2.2", "192.0.2.1"] },
      ]),
    ).toThrow('address 192.0.2.1 is given to both router "a" and router "b"');
    expect(() =>
      checkNamedRouters([
        { name: "a", addresses: ["2001:db8::1"] },
        { name: "b", addresses: ["2001:DB8:0::1"] },
      ]),
    ).toThrow('address 2001:db8::1 is given to both router "a" and router "b"');
  });

  test("refuses a note with control characters", () => {
    expect(() => checkNamedRouters([{ name: "a", addresses: ["192.0.2.1"], note: "x\u001b[31m" }])).toThrow(
      /note/,
    );
    expect(checkNamedRouters([{ name: "a", addresses: ["192.0.2.1"], note: "the lab's" }])[0]?.note).toBe(
      "the lab's",
    );
  });
});
