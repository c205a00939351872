import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { DUAL_ECHO_IP6, DUAL_FACTS, DUAL_SNAPSHOT } from "./fixtures/lab-dual.ts";
import { LAB_ECHO } from "./fixtures/lab-snapshot.ts";
import { masqueradeStep, serviceStep } from "./predict-service.ts";
import type { PacketHeader } from "./prediction-types.ts";

const NODE1 = DUAL_FACTS[0] as NodeFacts;

const toEcho6: PacketHeader = {
  proto: "tcp",
  src: "fd00:10:244::2",
  dst: DUAL_ECHO_IP6,
  sport: 40000,
  dport: 80,
};

/** node1 with `name` of `ip6 podnet` emptied. */
function withoutIp6(name: string): NodeFacts {
  return {
    ...NODE1,
    nft: {
      ...NODE1.nft,
      sets: NODE1.nft.sets.map((s) => (s.name === name && s.family === "ip6" ? { ...s, elements: [] } : s)),
    },
  };
}

describe("serviceStep on a dual-stack node", () => {
  test("an IPv6 ClusterIP: DNAT to the IPv6 endpoints of ip6 podnet's map, commands naming ip6 podnet", () => {
    const step = serviceStep(DUAL_SNAPSHOT, NODE1, toEcho6);
    if (step.kind !== "dnat") throw new Error(`expected dnat, got ${step.kind}`);
    expect(step.candidates.map((c) => c.ip)).toEqual([
      "fd00:10:244::2",
      "fd00:10:244::3",
      "fd00:10:244:3::2",
      "fd00:10:244:3::3",
      "fd00:10:244:8::2",
      "fd00:10:244:8::3",
    ]);
    expect(step.candidates[5]).toMatchObject({ port: 8080, pod: "default/node3-b", node: "node3" });
    expect(step.marked).toBe(false);
    expect(step.evidence[0]).toBe(`service-ips: ${DUAL_ECHO_IP6} . tcp . 80 : goto endpoints-tcp-6`);
    expect(step.commands.map((c) => c.command)).toEqual([
      "nft list map ip6 podnet service-ips",
      "nft list map ip6 podnet service-endpoints-tcp",
    ]);
  });

  test("the IPv4 ClusterIP of the same Service still reads ip podnet", () => {
    const step = serviceStep(DUAL_SNAPSHOT, NODE1, {
      ...toEcho6,
      src: "10.244.0.2",
      dst: LAB_ECHO.clusterIPs[0] ?? "",
    });
    if (step.kind !== "dnat") throw new Error(`expected dnat, got ${step.kind}`);
    expect(step.candidates.map((c) => c.ip)).toContain("10.244.8.3");
    expect(step.candidates.every((c) => c.ip.includes("."))).toBe(true);
    expect(step.commands[0]?.command).toBe("nft list map ip podnet service-ips");
  });

  test("ip6 podnet without the IPv6 entry rejects it, although ip podnet has the IPv4 one", () => {
    const step = serviceStep(DUAL_SNAPSHOT, withoutIp6("service-ips"), toEcho6);
    if (step.kind !== "reject") throw new Error(`expected reject, got ${step.kind}`);
    expect(step.reason).toBe("service-rules-missing");
    expect(step.evidence).toContain(`nft list map ip6 podnet service-ips → no ${DUAL_ECHO_IP6} . tcp . 80`);
    expect(step.evidence.at(-1)).toContain("reject-check: ip6 daddr @cluster-ips goto reject-service");
    expect(step.commands.at(-1)?.command).toBe("nft list chain ip6 podnet reject-service");
  });

  test("an IPv6 NodePort on the node's IPv6 address reads ip6 podnet's NodePort map", () => {
    const step = serviceStep(DUAL_SNAPSHOT, NODE1, {
      proto: "tcp",
      src: "2001:db8:3::100",
      dst: "2001:db8:1::11",
      sport: 40000,
      dport: 32032,
    });
    if (step.kind !== "dnat") throw new Error(`expected dnat, got ${step.kind}`);
    expect(step.nodePort).toBe(true);
    expect(step.candidates.map((c) => c.ip)).toHaveLength(6);
    expect(step.candidates.every((c) => c.ip.startsWith("fd00:10:244:"))).toBe(true);
    expect(step.commands.map((c) => c.command)).toEqual([
      "nft list map ip6 podnet service-nodeports",
      "nft list map ip6 podnet nodeport-endpoints-tcp",
    ]);
  });
});

describe("masqueradeStep on a dual-stack node", () => {
  const egress6: PacketHeader = {
    proto: "tcp",
    src: "fd00:10:244::2",
    dst: "2001:db8:3::100",
    sport: 40000,
    dport: 8080,
  };

  test("IPv6 pod traffic leaving the cluster: ip6 podnet's rule masquerades it to the uplink's IPv6 address", () => {
    const m = masqueradeStep(DUAL_SNAPSHOT, NODE1, egress6, { marked: false, dnatted: false, oif: "eth0" });
    expect(m?.ip).toBe("2001:db8:1::11");
    expect(m?.evidence[0]).toBe(
      "nat-postrouting: ip6 saddr @pod-cidrs ip6 daddr != @no-masquerade masquerade fully-random",
    );
    expect(m?.why).toContain("fd00:10:96::/112");
  });

  test("an IPv6 destination in ip6 podnet's no-masquerade set keeps the pod's address", () => {
    const kept = {
      ...NODE1,
      nft: {
        ...NODE1.nft,
        sets: NODE1.nft.sets.map((s) =>
          s.name === "no-masquerade" && s.family === "ip6"
            ? { ...s, elements: [...s.elements, { key: ["2001:db8:3::/64"] }] }
            : s,
        ),
      },
    };
    expect(masqueradeStep(DUAL_SNAPSHOT, kept, egress6, { marked: false, dnatted: false, oif: "eth0" })).toBe(
      undefined,
    );
  });
});
