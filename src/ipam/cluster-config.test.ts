import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { addClusterCidr, buildClusterConfig, type ClusterConfig, clusterFamilies } from "./cluster-config.ts";
import {
  clusterConfigFromJSON,
  clusterConfigToJSON,
  decodeClusterConfig,
  encodeClusterConfig,
} from "./cluster-config-json.ts";
import { ClusterConfigError } from "./cluster-errors.ts";

const shown = (config: ClusterConfig) => ({
  clusterCidrs: config.clusterCidrs.map(formatPrefix),
  nodeBlockLength: config.nodeBlockLength,
  serviceCidrs: config.serviceCidrs.map(formatPrefix),
});

describe("buildClusterConfig", () => {
  test("defaults: /24 blocks and the 10.96.0.0/12 service CIDR", () => {
    expect(shown(buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"] }))).toEqual({
      clusterCidrs: ["10.244.0.0/16"],
      nodeBlockLength: { ipv4: 24 },
      serviceCidrs: ["10.96.0.0/12"],
    });
  });

  test("dual-stack with an IPv6 service CIDR; families in cluster CIDR order", () => {
    const config = buildClusterConfig({
      clusterCidrs: ["fd00:10::/56", "10.244.0.0/16"],
      serviceCidrs: ["10.96.0.0/16", "fd00:96::/112"],
    });
    expect(shown(config)).toEqual({
      clusterCidrs: ["fd00:10::/56", "10.244.0.0/16"],
      nodeBlockLength: { ipv6: 64, ipv4: 24 },
      serviceCidrs: ["10.96.0.0/16", "fd00:96::/112"],
    });
    expect(clusterFamilies(config)).toEqual([6, 4]);
  });

  test("max pods per node derives the block length", () => {
    const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], maxPodsPerNode: 60 });
    expect(config.nodeBlockLength).toEqual({ ipv4: 26 });
  });

  test("errors name the value and the reason", () => {
    const cases: [Parameters<typeof buildClusterConfig>[0], string][] = [
      [{ clusterCidrs: [] }, "give at least one cluster CIDR"],
      [{ clusterCidrs: ["10.0.0.1/8"] }, 'Invalid cluster CIDR "10.0.0.1/8": host bits are set'],
      [
        { clusterCidrs: ["10.0.0.0/8", "10.1.0.0/16"] },
        'Invalid cluster CIDR "10.1.0.0/16": overlaps cluster CIDR "10.0.0.0/8"',
      ],
      [
        { clusterCidrs: ["10.0.0.0/8"] },
        'Invalid cluster CIDR "10.0.0.0/8": overlaps service CIDR "10.96.0.0/12"',
      ],
      [{ clusterCidrs: ["127.0.0.0/16"] }, 'overlaps the loopback range "127.0.0.0/8"'],
      [{ clusterCidrs: ["fe80::/64"] }, "link-local"],
      [
        { clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16", "10.97.0.0/16"] },
        'Invalid service CIDR "10.97.0.0/16": is a second IPv4 service CIDR besides "10.96.0.0/16"',
      ],
      [{ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/31"] }, "is too small"],
      [{ clusterCidrs: ["10.244.0.0/16"], nodeBlockLength: { ipv4: 8 } }, "is larger than cluster CIDR"],
    ];
    for (const [input, message] of cases) {
      expect(() => buildClusterConfig(input)).toThrow(ClusterConfigError);
      expect(() => buildClusterConfig(input)).toThrow(message);
    }
  });
});

describe("addClusterCidr", () => {
  const base = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], nodeBlockLength: { ipv4: 26 } });

  test("appends the range and keeps existing ranges and block length", () => {
    const grown = addClusterCidr(base, "10.245.0.0/16");
    expect(shown(grown)).toEqual({
      clusterCidrs: ["10.244.0.0/16", "10.245.0.0/16"],
      nodeBlockLength: { ipv4: 26 },
      serviceCidrs: ["10.96.0.0/12"],
    });
    expect(shown(base).clusterCidrs).toEqual(["10.244.0.0/16"]); // not mutated
  });

  test("a new family gets its default or given block length", () => {
    expect(addClusterCidr(base, "fd00::/48").nodeBlockLength).toEqual({ ipv4: 26, ipv6: 64 });
    expect(addClusterCidr(base, "fd00::/48", { nodeBlockLength: 80 }).nodeBlockLength).toEqual({
      ipv4: 26,
      ipv6: 80,
    });
  });

  test("refuses overlaps, block length changes and ranges too small for a block", () => {
    expect(() => addClusterCidr(base, "10.244.128.0/17")).toThrow('overlaps cluster CIDR "10.244.0.0/16"');
    expect(() => addClusterCidr(base, "10.0.0.0/8")).toThrow('overlaps cluster CIDR "10.244.0.0/16"');
    expect(() => addClusterCidr(base, "10.96.0.0/16")).toThrow('overlaps service CIDR "10.96.0.0/12"');
    expect(() => addClusterCidr(base, "10.245.0.0/16", { nodeBlockLength: 24 })).toThrow(
      "the cluster already uses /26 blocks",
    );
    expect(() => addClusterCidr(base, "10.245.0.0/27")).toThrow('larger than cluster CIDR "10.245.0.0/27"');
    expect(addClusterCidr(base, "10.245.0.0/26").clusterCidrs).toHaveLength(2);
  });
});

describe("JSON", () => {
  test("round trip", () => {
    const config = addClusterCidr(
      buildClusterConfig({
        clusterCidrs: ["10.244.0.0/16", "fd00::/48"],
        serviceCidrs: ["10.96.0.0/12", "fd01::/108"],
      }),
      "10.245.0.0/16",
    );
    const text = encodeClusterConfig(config);
    expect(JSON.parse(text)).toEqual({
      version: 1,
      clusterCidrs: ["10.244.0.0/16", "fd00::/48", "10.245.0.0/16"],
      nodeBlockLength: { ipv4: 24, ipv6: 64 },
      serviceCidrs: ["10.96.0.0/12", "fd01::/108"],
    });
    expect(shown(decodeClusterConfig(text))).toEqual(shown(config));
  });

  test("random configs survive the round trip", () => {
    const random = mulberry32(7);
    for (let n = 0; n < 300; n++) {
      const serviceLength = 16 + Math.floor(random() * 15);
      const v6Length = 32 + Math.floor(random() * 32);
      const cidrs: string[] = [`172.${16 + Math.floor(random() * 16)}.0.0/16`];
      if (random() < 0.5) cidrs.push(`fd${Math.floor(random() * 256).toString(16)}::/${v6Length}`);
      const config = buildClusterConfig({
        clusterCidrs: cidrs,
        nodeBlockLength: {
          ipv4: 16 + Math.floor(random() * 15),
          ...(cidrs.length > 1 ? { ipv6: v6Length + Math.floor(random() * (126 - v6Length)) } : {}),
        },
        serviceCidrs: [`10.${Math.floor(random() * 256)}.0.0/${serviceLength}`],
      });
      expect(shown(clusterConfigFromJSON(JSON.parse(JSON.stringify(clusterConfigToJSON(config)))))).toEqual(
        shown(config),
      );
    }
  });

  test("malformed stored configs are refused, naming the field", () => {
    const good = clusterConfigToJSON(buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"] }));
    expect(() => decodeClusterConfig("{")).toThrow(
      'Invalid stored cluster config field "(root)": is not JSON',
    );
    expect(() => clusterConfigFromJSON([])).toThrow("must be an object");
    expect(() => clusterConfigFromJSON({ ...good, version: 2 })).toThrow("only version 1 is known");
    expect(() => clusterConfigFromJSON({ ...good, clusterCidrs: "10.0.0.0/8" })).toThrow(
      '"clusterCidrs": must be an array of strings',
    );
    expect(() => clusterConfigFromJSON({ ...good, nodeBlockLength: { ipv4: "24" } })).toThrow(
      '"nodeBlockLength.ipv4": must be a number',
    );
    expect(() => clusterConfigFromJSON({ ...good, nodeBlockLength: { v4: 24 } })).toThrow(
      "is not ipv4 or ipv6",
    );
    expect(() => clusterConfigFromJSON({ ...good, nodeBlockLength: {} })).toThrow(
      '"nodeBlockLength.ipv4": is missing',
    );
    expect(() => clusterConfigFromJSON({ ...good, clusterCidrs: ["10.96.0.0/16"] })).toThrow(
      'overlaps service CIDR "10.96.0.0/12"',
    );
  });
});
