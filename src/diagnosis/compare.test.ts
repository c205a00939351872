import { describe, expect, test } from "bun:test";
import type { NodeFacts, NodeObservation, ProbeResult } from "../cluster/diagnosis-protocol.ts";
import { compareTrace } from "./compare.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import {
  EXTERNAL_NODE1,
  FDB_DELETED_CONNTRACK,
  FDB_DELETED_NODE1,
  FORWARD_OFF_CONNTRACK,
  FORWARD_OFF_NODE1,
  FORWARD_OFF_NODE2,
  NODEPORT_BACK_NODE1,
  NODEPORT_BACK_NODE2,
  NODEPORT_CONNTRACK,
  NODEPORT_NODE1,
  nodeObservation,
  REFUSED_AT_NODE_NODE2,
  REFUSED_AT_NODE_NODE3,
  REJECT_NODE1,
  ROUTE_DELETED_CONNTRACK,
  ROUTE_DELETED_NODE1,
  SAME_NODE_NODE1,
  SVC_PROBE,
  svcObservation,
} from "./fixtures/trace-captures.ts";
import { labPlan, withoutFdb, withoutRoute, withSysctl } from "./fixtures/trace-scenarios.ts";
import { observeTrace } from "./observe.ts";
import { predictTrace } from "./predict.ts";

function verdict(
  source: string,
  destination: string,
  sourcePort: number,
  facts: readonly NodeFacts[],
  observations: readonly NodeObservation[] | undefined,
  probe?: ProbeResult,
) {
  const plan = labPlan(source, destination, sourcePort);
  const prediction = predictTrace(LAB_SNAPSHOT, facts, plan);
  const observation = observations ? observeTrace(plan, observations, probe) : undefined;
  return compareTrace(prediction, observation);
}

const timeout = (port: number): ProbeResult => ({
  outcome: "timeout",
  ms: 2000,
  localIp: "10.244.0.2",
  localPort: port,
});

describe("compareTrace", () => {
  test("a free address of the source's own subnet: lost inside the pod (ARP unanswered), as predicted", () => {
    const plan = labPlan("node1-a", "10.244.0.99:8080");
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    const path = prediction.paths[0];
    expect(path?.forward.map((h) => h.point)).toEqual(["drop"]);
    expect(path?.drop).toMatchObject({ reason: "no-pod", node: "node1" });
    const nothingSeen: NodeObservation = {
      node: "node1",
      events: [],
      conntrack: [],
      counters: [],
      sysctls: {},
      errors: [],
    };
    const v = compareTrace(prediction, observeTrace(plan, [nothingSeen], timeout(40000)));
    expect(v.status).toBe("agree");
    expect(v.firstDisagreement).toMatchObject({ reason: "no-pod", node: "node1" });
  });

  test("not probed: predicted only", () => {
    const v = verdict("node1-a", "node3-b:8080", 40000, LAB_FACTS, undefined);
    expect(v.status).toBe("predicted-only");
    expect(v.summary).toContain("predicted only");
    expect(v.hops).toEqual([]);
  });

  test("ClusterIP over VXLAN: agrees on the path of the endpoint that answered, which is one of the candidates", () => {
    const v = verdict("node1-a", "default/echo:80", 40518, LAB_FACTS, svcObservation(), SVC_PROBE);
    expect(v.status).toBe("agree");
    expect(v.endpoint).toEqual({ ip: "10.244.8.3", pod: "default/node3-b", candidate: true });
    expect(v.path).toBe(5);
    expect(v.firstDisagreement).toBeUndefined();
    expect(v.hops.filter((h) => h.status === "differs" || h.status === "missing")).toEqual([]);
    expect(v.hops.find((h) => h.point === "to-overlay" && h.direction === "forward")?.status).toBe(
      "observed",
    );
    expect(v.summary).toContain("1 of 6 candidates");
  });

  test("a Service without endpoints: refused as predicted, by the reject rule — no disagreement", () => {
    const plan = labPlan("node1-a", "default/no-endpoints:80", 32916);
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    const observation = observeTrace(plan, [nodeObservation("node1", REJECT_NODE1)], {
      outcome: "refused",
      ms: 1,
      localIp: "10.244.0.2",
      localPort: 32916,
    });
    const v = compareTrace(prediction, observation);
    expect(v.status).toBe("agree");
    expect(v.firstDisagreement).toBeUndefined();
    expect(v.hops.find((h) => h.point === "service-reject")?.status).toBe("observed");
  });

  test("VXLAN traffic that never arrives: the first disagreement is node1's encapsulation (0 packets counted)", () => {
    const v = verdict("node1-a", "default/echo:80", 40518, LAB_FACTS, svcObservation(0), {
      ...SVC_PROBE,
      outcome: "timeout",
      echo: undefined,
    });
    expect(v.status).toBe("disagree");
    expect(v.firstDisagreement).toMatchObject({ node: "node1", point: "to-overlay", reason: "missing-fdb" });
  });
});

describe("compareTrace on real captures of healthy paths", () => {
  test("same-node pods: the bridged (L2) hop is observed with its TTL unchanged", () => {
    const v = verdict(
      "node1-a",
      "node1-b:8080",
      57476,
      LAB_FACTS,
      [nodeObservation("node1", SAME_NODE_NODE1)],
      {
        outcome: "answered",
        ms: 1,
        localIp: "10.244.0.2",
        localPort: 57476,
      },
    );
    expect(v.status).toBe("agree");
    expect(v.hops.find((h) => h.point === "bridge" && h.direction === "forward")?.status).toBe("observed");
  });

  test("pod → external: the masquerade to node1's address is observed after srcnat", () => {
    const observations = [
      nodeObservation("node1", EXTERNAL_NODE1, {
        conntrack: [
          "tcp      6 117 TIME_WAIT src=10.244.0.2 dst=203.0.113.100 sport=44548 dport=8080 src=203.0.113.100 dst=192.0.2.11 sport=8080 dport=65034 [ASSURED] mark=0 use=1",
        ],
      }),
    ];
    const v = verdict("node1-a", "203.0.113.100:8080", 44548, LAB_FACTS, observations, {
      outcome: "answered",
      ms: 2,
      localIp: "10.244.0.2",
      localPort: 44548,
    });
    expect(v.status).toBe("agree");
    expect(v.hops.find((h) => h.point === "masquerade")?.status).toBe("observed");
    expect(v.hops.filter((h) => h.status === "differs" || h.status === "missing")).toEqual([]);
  });

  test("external → NodePort: the path of the endpoint that answered (node1-b, masqueraded to the gateway)", () => {
    const v = verdict(
      "203.0.113.100",
      "192.0.2.11:32032",
      54034,
      LAB_FACTS,
      [nodeObservation("node1", NODEPORT_NODE1, { conntrack: NODEPORT_CONNTRACK })],
      {
        outcome: "answered",
        ms: 2,
        localIp: "203.0.113.100",
        localPort: 54034,
        echo: { pod: "node1-b", ip: "10.244.0.3", from: "10.244.0.1", fromPort: 40630 },
      },
    );
    expect(v.status).toBe("agree");
    expect(v.endpoint).toEqual({ ip: "10.244.0.3", pod: "default/node1-b", candidate: true });
    expect(v.path).toBe(1);
    expect(v.hops.find((h) => h.point === "masquerade")?.status).toBe("observed");
  });
});

describe("compareTrace on injected faults (real captures)", () => {
  test("FDB entry deleted — facts see it: both agree the packet is lost at node1, reason missing-fdb", () => {
    const observations = [
      nodeObservation("node1", FDB_DELETED_NODE1, {
        conntrack: FDB_DELETED_CONNTRACK,
        counters: [{ chain: "observe-post", name: "vxlan-out 198.51.100.13", packets: 0, bytes: 0 }],
      }),
      nodeObservation("node3", []),
    ];
    const v = verdict(
      "node1-a",
      "node3-b:8080",
      47088,
      withoutFdb("node1", "198.51.100.13"),
      observations,
      timeout(47088),
    );
    expect(v.status).toBe("agree");
    expect(v.firstDisagreement).toMatchObject({ node: "node1", reason: "missing-fdb" });
    expect(v.summary).toContain("lost as predicted at node1");
  });

  test("FDB entry deleted after the facts were read: prediction says delivered, the first disagreement is named", () => {
    const observations = [
      nodeObservation("node1", FDB_DELETED_NODE1, {
        conntrack: FDB_DELETED_CONNTRACK,
        counters: [{ chain: "observe-post", name: "vxlan-out 198.51.100.13", packets: 0, bytes: 0 }],
      }),
      nodeObservation("node3", []),
    ];
    const v = verdict("node1-a", "node3-b:8080", 47088, LAB_FACTS, observations, timeout(47088));
    expect(v.status).toBe("disagree");
    expect(v.firstDisagreement).toMatchObject({ node: "node1", point: "to-overlay", reason: "missing-fdb" });
    expect(v.hops.find((h) => h.node === "node3" && h.point === "to-pod")?.status).toBe("not-reached");
  });

  test("peer route deleted: prediction names no-route on node1; the packet left by eth0 and vanished", () => {
    const observations = [
      nodeObservation("node1", ROUTE_DELETED_NODE1, { conntrack: ROUTE_DELETED_CONNTRACK }),
      nodeObservation("node2", []),
    ];
    const v = verdict(
      "node1-a",
      "node2-a:8080",
      52742,
      withoutRoute("node1", "10.244.3.0/24"),
      observations,
      timeout(52742),
    );
    expect(v.status).toBe("agree");
    expect(v.firstDisagreement).toMatchObject({ node: "node1", reason: "no-route" });
    expect(v.firstDisagreement?.predicted).toContain("node2's block");
  });

  test("peer route deleted, prediction from intact facts: node2 never saw what node1 sent", () => {
    const observations = [
      nodeObservation("node1", ROUTE_DELETED_NODE1, { conntrack: ROUTE_DELETED_CONNTRACK }),
      nodeObservation("node2", []),
    ];
    const v = verdict("node1-a", "node2-a:8080", 52742, LAB_FACTS, observations, timeout(52742));
    expect(v.status).toBe("disagree");
    expect(v.firstDisagreement).toMatchObject({ node: "node2", direction: "forward" });
    expect(v.hops.find((h) => h.node === "node1" && h.point === "fib")?.status).toBe("observed");
  });

  test("ip_forward 0 on node2: agree on the drop at node2, reason ip-forward-off", () => {
    const observations = [
      nodeObservation("node1", FORWARD_OFF_NODE1, { conntrack: FORWARD_OFF_CONNTRACK }),
      nodeObservation("node2", FORWARD_OFF_NODE2, { sysctls: { "net.ipv4.ip_forward": "0" } }),
    ];
    const facts = withSysctl("node2", "net.ipv4.ip_forward", "0");
    const v = verdict("node1-a", "node2-a:8080", 58734, facts, observations, timeout(58734));
    expect(v.status).toBe("agree");
    expect(v.firstDisagreement).toMatchObject({ node: "node2", reason: "ip-forward-off" });
    // Without the fault in the facts, the observation alone names it.
    const blind = verdict("node1-a", "node2-a:8080", 58734, LAB_FACTS, observations, timeout(58734));
    expect(blind.status).toBe("disagree");
    expect(blind.firstDisagreement).toMatchObject({ node: "node2", reason: "ip-forward-off" });
  });
});

describe("compareTrace when the kernel changed between facts and probe", () => {
  test("a predicted drop the probe got past is a disagreement, not an agreement", () => {
    const v = verdict(
      "node1-a",
      "default/echo:80",
      40518,
      withoutFdb("node1", "198.51.100.13"),
      svcObservation(),
      SVC_PROBE,
    );
    expect(v.status).toBe("disagree");
    expect(v.firstDisagreement).toMatchObject({ node: "node1", point: "drop", reason: "differs" });
    expect(v.firstDisagreement?.observed).toContain("the probe was answered");
  });
});

describe("compareTrace on agent-observed captures", () => {
  test("masquerade seen only in the trace (no conntrack entry) and a reset from the node itself: path agrees", () => {
    const v = verdict(
      "node2-a",
      "node3:22",
      20301,
      LAB_FACTS,
      [nodeObservation("node2", REFUSED_AT_NODE_NODE2), nodeObservation("node3", REFUSED_AT_NODE_NODE3)],
      { outcome: "refused", ms: 16, error: "connect ECONNREFUSED 198.51.100.13:22" },
    );
    expect(v.status).toBe("agree");
    expect(v.summary).toContain("the destination itself refused the connection");
    expect(v.hops.find((h) => h.point === "masquerade")?.status).toBe("observed");
    expect(v.hops.find((h) => h.point === "to-host")?.status).toBe("observed");
  });

  test("a NodePort that DNATs back to the sender's node: node1 is crossed twice, each visit matched by its addresses", () => {
    const v = verdict(
      "node1",
      "192.0.2.12:32032",
      22673,
      LAB_FACTS,
      [nodeObservation("node1", NODEPORT_BACK_NODE1), nodeObservation("node2", NODEPORT_BACK_NODE2)],
      {
        outcome: "answered",
        ms: 10,
        localIp: "192.0.2.11",
        localPort: 22673,
        echo: { pod: "node1-a", ip: "10.244.0.2", from: "192.0.2.12", fromPort: 58896 },
      },
    );
    expect(v.status).toBe("agree");
    expect(v.endpoint).toEqual({ ip: "10.244.0.2", pod: "default/node1-a", candidate: true });
    const node1Forward = v.hops.filter((h) => h.node === "node1" && h.direction === "forward");
    expect(node1Forward.map((h) => `${h.point}:${h.status}`)).toContain("to-pod:observed");
    expect(v.hops.filter((h) => h.status === "differs" || h.status === "missing")).toEqual([]);
  });
});

describe("compareTrace with a silent node", () => {
  test("an agent that did not answer: inconclusive, named as the first disagreement (agent-missing)", () => {
    const v = verdict(
      "node1-a",
      "node3-b:8080",
      47088,
      LAB_FACTS.filter((f) => f.node !== "node3"),
      [nodeObservation("node1", FDB_DELETED_NODE1, { conntrack: FDB_DELETED_CONNTRACK })],
      timeout(47088),
    );
    expect(v.status).toBe("inconclusive");
    expect(v.firstDisagreement).toMatchObject({ node: "node3", reason: "agent-missing" });
    expect(v.summary).toContain("node3 did not report");
  });
});

describe("br_netfilter off or not loaded", () => {
  const BRIDGE_NF = "net.bridge.bridge-nf-call-iptables";
  const withoutKey = LAB_FACTS.map((f) => {
    if (f.node !== "node1") return f;
    const { [BRIDGE_NF]: _gone, ...sysctls } = f.sysctls;
    return { ...f, sysctls };
  });
  const answered: ProbeResult = { outcome: "answered", ms: 1, localIp: "10.244.0.2", localPort: 57476 };

  for (const [name, facts] of [
    ["= 0", withSysctl("node1", BRIDGE_NF, "0")],
    ["absent", withoutKey],
  ] as const) {
    test(`${name}: a healthy same-node pair is not a disagreement; its bridged hops are unobservable`, () => {
      const v = verdict("node1-a", "node1-b:8080", 57476, facts, [nodeObservation("node1", [])], answered);
      expect(v.status).toBe("agree");
      expect(v.firstDisagreement).toBeUndefined();
      const bridge = v.hops.find((h) => h.point === "bridge" && h.direction === "forward");
      expect(bridge?.status).toBe("unobservable");
      expect(bridge?.note).toContain("br_netfilter off");
    });
  }

  test("a Service endpoint on the client's bridge: the reply bypasses un-DNAT, predicted as that failure", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40000);
    const prediction = predictTrace(LAB_SNAPSHOT, withoutKey, plan);
    const path = prediction.paths.find((p) => p.endpoint?.pod === "default/node1-b");
    expect(path?.outcome).toBe("dropped");
    expect(path?.drop?.reason).toBe("reply-not-un-natted");
    expect(path?.drop?.evidence.join(" ")).toContain("br_netfilter is not loaded");
    // The forward direction is routed (no bridged DNAT without br_netfilter).
    expect(path?.forward.some((h) => h.point === "fib" && h.node === "node1")).toBe(true);
  });
});
