/**
 * Representative proxy inputs, shared by the golden tests (ruleset.test.ts compares their rendered
 * text with golden/NAME.nft) and the integration test that loads those files into a real kernel
 * with `nft --check`. Addresses are from the lab's ranges: pods 10.244.0.0/16, services
 * 10.96.0.0/12, nodes in 192.0.2.0/24 (IPv6: fd00:10:244::/56, fd00:10:96::/112, 2001:db8::/64).
 */
import type { Endpoint, Service, ServicePort, SessionAffinity } from "../k8s/service-model.ts";
import { nonMasqueradeCidrs } from "./masquerade-cidrs.ts";
import type { ProxyInput } from "./ruleset.ts";

export const POD_CIDR = "10.244.0.0/16";
export const SERVICE_CIDR = "10.96.0.0/12";
export const POD_CIDR6 = "fd00:10:244::/56";
export const SERVICE_CIDR6 = "fd00:10:96::/112";

export function service(
  name: string,
  clusterIPs: readonly string[],
  ports: readonly ServicePort[],
  sessionAffinity: SessionAffinity = { kind: "None" },
): Service {
  return { namespace: "default", name, clusterIPs, ports, sessionAffinity, selector: { app: name } };
}

export function endpoint(ip: string, node = "node1", pod = `default/pod-${ip}`): Endpoint {
  return { ip, node, pod };
}

const tcp = (port: number, targetPort: number, nodePort?: number): ServicePort =>
  nodePort === undefined
    ? { protocol: "TCP", port, targetPort }
    : { protocol: "TCP", port, targetPort, nodePort };

/** A node of the lab: one node address, the default non-masquerade list, egress masquerade on. */
export function nodeInput(services: ProxyInput["services"], overrides: Partial<ProxyInput> = {}): ProxyInput {
  return {
    family: "ip",
    services,
    nodeIPs: ["192.0.2.11"],
    podCidrs: [POD_CIDR],
    nonMasqueradeCidrs: nonMasqueradeCidrs({ clusterCidrs: [POD_CIDR], serviceCidrs: [SERVICE_CIDR] }),
    masqueradeEgress: true,
    ...overrides,
  };
}

const web = service("web", ["10.96.0.10"], [tcp(80, 8080)]);
const webEndpoints = [endpoint("10.244.1.5", "node1"), endpoint("10.244.2.7", "node2")];

export const GOLDEN_CASES = {
  "tcp-two-endpoints": nodeInput([{ service: web, endpoints: webEndpoints }]),
  "udp-service": nodeInput([
    {
      service: service("dns", ["10.96.0.53"], [{ name: "dns", protocol: "UDP", port: 53, targetPort: 5353 }]),
      endpoints: [endpoint("10.244.1.9")],
    },
  ]),
  "multi-protocol": nodeInput([
    {
      service: service(
        "mixed",
        ["10.96.0.20"],
        [
          { name: "sctp", protocol: "SCTP", port: 9999, targetPort: 9999 },
          { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
          { name: "http", protocol: "TCP", port: 80, targetPort: 8080 },
        ],
      ),
      endpoints: [endpoint("10.244.1.5"), endpoint("10.244.1.6"), endpoint("10.244.2.7")],
    },
  ]),
  "no-endpoints": nodeInput([
    { service: service("idle", ["10.96.0.30"], [tcp(80, 8080)]), endpoints: [] },
    { service: service("idle-nodeport", ["10.96.0.31"], [tcp(80, 8080, 30081)]), endpoints: [] },
  ]),
  nodeport: nodeInput(
    [{ service: service("web", ["10.96.0.10"], [tcp(80, 8080, 30080)]), endpoints: webEndpoints }],
    { nodeIPs: ["192.0.2.11", "198.51.100.11"] },
  ),
  "nodeport-any-local-address": nodeInput(
    [{ service: service("web", ["10.96.0.10"], [tcp(80, 8080, 30080)]), endpoints: webEndpoints }],
    { nodeIPs: [] },
  ),
  "client-ip-affinity": nodeInput([
    {
      service: service("sticky", ["10.96.0.40"], [tcp(80, 8080)], { kind: "ClientIP", timeoutSeconds: 600 }),
      endpoints: webEndpoints,
    },
  ]),
  "egress-masquerade-on": nodeInput([], {
    nonMasqueradeCidrs: nonMasqueradeCidrs({
      clusterCidrs: [POD_CIDR],
      serviceCidrs: [SERVICE_CIDR],
      keepPrivateRanges: true,
    }),
  }),
  "egress-masquerade-off": nodeInput([], { masqueradeEgress: false }),
  // BGP: the segments whose router learns the pod blocks (the lab's lan1 and lan2) see pod
  // addresses; the IPv6 VPC prefix is not in the IPv4 table.
  "egress-masquerade-vpc": nodeInput([], {
    nonMasqueradeCidrs: nonMasqueradeCidrs({
      clusterCidrs: [POD_CIDR],
      serviceCidrs: [SERVICE_CIDR],
      vpcCidrs: ["192.0.2.0/24", "198.51.100.0/24", "2001:db8:2::/64"],
    }),
  }),
  "egress-masquerade-vpc-ipv6": nodeInput([], {
    family: "ip6",
    nodeIPs: ["192.0.2.11", "2001:db8::11"],
    podCidrs: [POD_CIDR, POD_CIDR6],
    nonMasqueradeCidrs: nonMasqueradeCidrs({
      clusterCidrs: [POD_CIDR, POD_CIDR6],
      serviceCidrs: [SERVICE_CIDR, SERVICE_CIDR6],
      vpcCidrs: ["192.0.2.0/24", "2001:db8::/64", "2001:db8:2::/64"],
    }),
  }),
  ipv6: nodeInput(
    [
      {
        service: service("web", ["10.96.0.10", "fd00:10:96::a"], [tcp(80, 8080, 30080)]),
        endpoints: [
          endpoint("10.244.1.5"),
          endpoint("fd00:10:244:1::5"),
          endpoint("10.244.2.7", "node2"),
          endpoint("fd00:10:244:2::7", "node2"),
        ],
      },
    ],
    {
      family: "ip6",
      nodeIPs: ["192.0.2.11", "2001:db8::11"],
      podCidrs: [POD_CIDR, POD_CIDR6],
      nonMasqueradeCidrs: nonMasqueradeCidrs({
        clusterCidrs: [POD_CIDR, POD_CIDR6],
        serviceCidrs: [SERVICE_CIDR, SERVICE_CIDR6],
      }),
    },
  ),
} satisfies Record<string, ProxyInput>;

/** Pairs of inputs whose partial sync (`diffRulesets`) the integration test loads after a full sync. */
export const DIFF_CASES = {
  "endpoint-replaced": {
    prev: nodeInput([{ service: web, endpoints: webEndpoints }]),
    next: nodeInput([
      { service: web, endpoints: [webEndpoints[0] as Endpoint, endpoint("10.244.3.3", "node3")] },
    ]),
  },
  "last-endpoint-gone": {
    prev: GOLDEN_CASES.nodeport,
    next: nodeInput([{ service: service("web", ["10.96.0.10"], [tcp(80, 8080, 30080)]), endpoints: [] }], {
      nodeIPs: ["192.0.2.11", "198.51.100.11"],
    }),
  },
  "service-removed-and-added": {
    prev: GOLDEN_CASES["client-ip-affinity"],
    next: GOLDEN_CASES["multi-protocol"],
  },
  "affinity-timeout-changed": {
    prev: GOLDEN_CASES["client-ip-affinity"],
    next: nodeInput([
      {
        service: service("sticky", ["10.96.0.40"], [tcp(80, 8080)], { kind: "ClientIP", timeoutSeconds: 60 }),
        endpoints: webEndpoints,
      },
    ]),
  },
  "address-and-node-port-taken-over": {
    prev: nodeInput([
      {
        service: service("old", ["10.96.0.50"], [tcp(80, 8080, 30050)]),
        endpoints: [endpoint("10.244.1.5")],
      },
    ]),
    next: nodeInput([
      {
        service: service("new", ["10.96.0.50"], [tcp(80, 9090, 30050)]),
        endpoints: [endpoint("10.244.2.7")],
      },
    ]),
  },
  "egress-toggled": {
    prev: GOLDEN_CASES["egress-masquerade-on"],
    next: GOLDEN_CASES["egress-masquerade-off"],
  },
  // A new endpoint count brings a new shared DNAT chain whose rule uses the endpoint map, while
  // the kernel already has a rule using it (nft must read the map's declaration back).
  "endpoint-count-grows": {
    prev: GOLDEN_CASES["tcp-two-endpoints"],
    next: nodeInput([{ service: web, endpoints: [...webEndpoints, endpoint("10.244.3.3", "node3")] }]),
  },
  // Without affinity a verdict element names the shared chain of its endpoint count, so a count
  // change replaces the ClusterIP and NodePort elements (delete + add) and shrinks to one chain.
  "nodeport-endpoint-count-shrinks": {
    prev: GOLDEN_CASES.nodeport,
    next: nodeInput(
      [{ service: service("web", ["10.96.0.10"], [tcp(80, 8080, 30080)]), endpoints: webEndpoints.slice(1) }],
      { nodeIPs: ["192.0.2.11", "198.51.100.11"] },
    ),
  },
  // Affinity brings the Service's own chains and sets; without it they go and the elements lead
  // to the shared chains again.
  "affinity-turned-on": {
    prev: GOLDEN_CASES.nodeport,
    next: nodeInput(
      [
        {
          service: service("web", ["10.96.0.10"], [tcp(80, 8080, 30080)], {
            kind: "ClientIP",
            timeoutSeconds: 60,
          }),
          endpoints: webEndpoints,
        },
      ],
      { nodeIPs: ["192.0.2.11", "198.51.100.11"] },
    ),
  },
  "affinity-turned-off": {
    prev: nodeInput(
      [
        {
          service: service("web", ["10.96.0.10"], [tcp(80, 8080, 30080)], {
            kind: "ClientIP",
            timeoutSeconds: 60,
          }),
          endpoints: webEndpoints,
        },
      ],
      { nodeIPs: ["192.0.2.11", "198.51.100.11"] },
    ),
    next: GOLDEN_CASES.nodeport,
  },
  "endpoint-count-grows-ipv6": {
    prev: GOLDEN_CASES.ipv6,
    next: {
      ...GOLDEN_CASES.ipv6,
      services: GOLDEN_CASES.ipv6.services.map((s) => ({
        ...s,
        endpoints: [...s.endpoints, endpoint("fd00:10:244:3::3", "node3")],
      })),
    },
  },
} satisfies Record<string, { prev: ProxyInput; next: ProxyInput }>;
