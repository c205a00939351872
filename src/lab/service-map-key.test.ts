import { describe, expect, test } from "bun:test";
import { mapHoldsKey, serviceMapKey } from "./service-map-key.ts";

// As `nft list map ip6 podnet service-ips` prints it.
const LISTING6 = `table ip6 podnet {
	map service-ips {
		type ipv6_addr . inet_proto . inet_service : verdict
		elements = { fd00:10:96::e432 . tcp . 8080 : goto svc-default-echo-8080,
			     fd00:10:96::e432 . udp . 80 : goto svc-default-echo-udp,
			     fd00:10:96::1:e432 . tcp . 80 : goto svc-other }
	}
}
`;
const LISTING4 = `table ip podnet {
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 110.96.0.1 . tcp . 80 : goto svc-a, 10.96.0.10 . tcp . 80 : goto svc-b }
	}
}
`;

describe("serviceMapKey", () => {
  test("the ClusterIP in canonical text, as nft prints it", () => {
    expect(serviceMapKey("FD00:10:96:0::E432", "tcp", 80)).toBe("fd00:10:96::e432 . tcp . 80");
    expect(serviceMapKey("10.96.0.10", "udp", 53)).toBe("10.96.0.10 . udp . 53");
  });
});

describe("mapHoldsKey", () => {
  test("finds an element by its exact key, first, inside or last in the list", () => {
    expect(mapHoldsKey(LISTING6, serviceMapKey("fd00:10:96::e432", "udp", 80))).toBe(true);
    expect(mapHoldsKey(LISTING6, serviceMapKey("fd00:10:96::e432", "tcp", 8080))).toBe(true);
    expect(mapHoldsKey(LISTING6, serviceMapKey("fd00:10:96::1:e432", "tcp", 80))).toBe(true);
    expect(mapHoldsKey(LISTING4, serviceMapKey("10.96.0.10", "tcp", 80))).toBe(true);
  });

  test("port 80 is not port 8080, and an address is not the tail of another", () => {
    expect(mapHoldsKey(LISTING6, serviceMapKey("fd00:10:96::e432", "tcp", 80))).toBe(false);
    expect(mapHoldsKey(LISTING6, serviceMapKey("fd00:10:96::e432", "tcp", 8))).toBe(false);
    expect(mapHoldsKey(LISTING4, serviceMapKey("10.96.0.1", "tcp", 80))).toBe(false);
    expect(mapHoldsKey(LISTING4, serviceMapKey("0.96.0.1", "tcp", 80))).toBe(false);
  });

  test("dots in the key are literal", () => {
    expect(mapHoldsKey("elements = { 10x96x0x10 . tcp . 80 : goto a }", "10.96.0.10 . tcp . 80")).toBe(false);
  });
});
