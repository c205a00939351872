import { describe, expect, test } from "bun:test";
import { addressesOf, addressOf, familiesOf, familyLabel, labFamilies } from "./lab-families.ts";

describe("lab-families", () => {
  const addresses = ["192.0.2.11/24", "2001:db8:1::11/64", "fd00:10:244::2", "not-an-address", "10.244.0.2"];

  test("addressesOf keeps the bare addresses of one family in order; addressOf takes the first", () => {
    expect(addressesOf(addresses, 4)).toEqual(["192.0.2.11", "10.244.0.2"]);
    expect(addressesOf(addresses, 6)).toEqual(["2001:db8:1::11", "fd00:10:244::2"]);
    expect(addressOf(addresses, 6)).toBe("2001:db8:1::11");
    expect(addressOf(["192.0.2.11/24"], 6)).toBeUndefined();
  });

  test("a lab's families as Kubernetes names them; an older state is IPv4 only", () => {
    expect(familiesOf("dual")).toEqual([4, 6]);
    expect(labFamilies({ ipFamilies: ["IPv6"] })).toEqual([6]);
    expect(labFamilies({})).toEqual([4]);
    expect(familyLabel({ ipFamilies: ["IPv4", "IPv6"] }, 6)).toBe(" [IPv6]");
    expect(familyLabel({ ipFamilies: ["IPv6"] }, 6)).toBe("");
  });
});
