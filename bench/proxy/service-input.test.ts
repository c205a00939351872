import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import {
  AddressSpaceError,
  benchInput,
  clusterIpOf,
  distinctIndices,
  endpointSerial,
  ipv4ToNumber,
  numberToIpv4,
  podIpOf,
  replaceEndpoint,
} from "./service-input.ts";

const inPrefix = (ip: string, base: string, bits: number) =>
  ipv4ToNumber(ip) >>> (32 - bits) === ipv4ToNumber(base) >>> (32 - bits);

describe("addresses", () => {
  test("numberToIpv4 and ipv4ToNumber round-trip (seeded)", () => {
    const random = mulberry32(7);
    for (let i = 0; i < 1000; i++) {
      const n = Math.floor(random() * 2 ** 32);
      expect(ipv4ToNumber(numberToIpv4(n))).toBe(n);
    }
    expect(() => ipv4ToNumber("10.0.0.256")).toThrow(AddressSpaceError);
  });

  test("ClusterIPs start at 10.96.0.1, are distinct and stay in 10.96.0.0/12", () => {
    expect(clusterIpOf(0)).toBe("10.96.0.1");
    expect(clusterIpOf(255)).toBe("10.96.1.0");
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const ip = clusterIpOf(i);
      expect(inPrefix(ip, "10.96.0.0", 12)).toBe(true);
      seen.add(ip);
    }
    expect(seen.size).toBe(20_000);
    expect(() => clusterIpOf(2 ** 20)).toThrow('Cannot give Service #1048576 a ClusterIP in "10.96.0.0/12"');
  });

  test("pod addresses are distinct host addresses from 10.244.0.1 inside 10.240.0.0/12", () => {
    expect(podIpOf(0)).toBe("10.244.0.1");
    expect(podIpOf(249)).toBe("10.244.0.250");
    expect(podIpOf(250)).toBe("10.244.1.1");
    expect(podIpOf(250 * 256)).toBe("10.245.0.1");
    const seen = new Set<string>();
    for (let i = 0; i < 120_000; i++) {
      const ip = podIpOf(i);
      const last = Number(ip.split(".")[3]);
      expect(last >= 1 && last <= 250).toBe(true);
      expect(inPrefix(ip, "10.240.0.0", 12)).toBe(true);
      seen.add(ip);
    }
    expect(seen.size).toBe(120_000);
    expect(podIpOf(12 * 256 * 250 - 1)).toBe("10.255.255.250");
    expect(() => podIpOf(12 * 256 * 250)).toThrow(AddressSpaceError);
  });
});

describe("benchInput", () => {
  test("N Services × E endpoints, one TCP port each, endpoints as endpointSerial says", () => {
    const input = benchInput({ services: 30, endpointsPerService: 4, nodeIP: "198.51.100.1" });
    expect(input.family).toBe("ip");
    expect(input.services).toHaveLength(30);
    expect(input.nodeIPs).toEqual(["198.51.100.1"]);
    input.services.forEach(({ service, endpoints }, s) => {
      expect(service.clusterIPs).toEqual([clusterIpOf(s)]);
      expect(service.ports).toEqual([{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }]);
      expect(endpoints.map((e) => e.ip)).toEqual([0, 1, 2, 3].map((e) => podIpOf(endpointSerial(s, e, 4))));
    });
    const keys = new Set(input.services.map(({ service }) => `${service.namespace}/${service.name}`));
    expect(keys.size).toBe(30);
    const all = input.services.flatMap((s) => s.endpoints.map((e) => e.ip));
    expect(new Set(all).size).toBe(120);
  });

  test("replaceEndpoint changes one endpoint of one Service and shares every other entry", () => {
    const input = benchInput({ services: 10, endpointsPerService: 3, nodeIP: "198.51.100.1" });
    const next = replaceEndpoint(input, 4, 1, 1000);
    expect(next.services).toHaveLength(10);
    next.services.forEach((entry, i) => {
      if (i === 4) return;
      expect(entry).toBe(input.services[i] as (typeof input.services)[number]);
    });
    expect(next.services[4]?.endpoints.map((e) => e.ip)).toEqual([podIpOf(12), podIpOf(1000), podIpOf(14)]);
    expect(next.services[4]?.service).toBe(
      input.services[4]?.service as (typeof input.services)[number]["service"],
    );
    expect(input.services[4]?.endpoints[1]?.ip).toBe(podIpOf(13));
    expect(() => replaceEndpoint(input, 10, 0, 1)).toThrow("Service #10 is not in the input (10 Services)");
    expect(() => replaceEndpoint(input, 0, 3, 1)).toThrow("Service #0 has no endpoint #3 (it has 3)");
  });
});

describe("distinctIndices", () => {
  test("draws distinct indices below n, the same ones for the same seed", () => {
    const picked = distinctIndices(1000, 100, mulberry32(3));
    expect(picked).toHaveLength(100);
    expect(new Set(picked).size).toBe(100);
    expect(picked.every((i) => Number.isInteger(i) && i >= 0 && i < 1000)).toBe(true);
    expect(distinctIndices(1000, 100, mulberry32(3))).toEqual(picked);
    expect(distinctIndices(1000, 100, mulberry32(4))).not.toEqual(picked);
  });

  test("asking for more than there are gives each index once", () => {
    expect(distinctIndices(5, 100, mulberry32(1)).sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
