import { describe, expect, test } from "bun:test";
import { BGP_FACTS, BGP_SNAPSHOT, withFacts } from "./fixtures/lab-bgp.ts";
import { predictTrace } from "./predict.ts";
import type { Hop } from "./prediction-types.ts";
import { resolveTarget } from "./target.ts";
import { defaultTraceProto, parseTraceDestination } from "./trace-destination.ts";
import { planTrace } from "./trace-plan.ts";

function bgpPlan(source: string, destination: string) {
  const d = parseTraceDestination(destination);
  const to = resolveTarget(BGP_SNAPSHOT, d.target);
  return planTrace(BGP_SNAPSHOT, resolveTarget(BGP_SNAPSHOT, source), to, d.proto ?? defaultTraceProto(to), {
    sourcePort: 40000,
    probeTimeoutMs: 2000,
  });
}

const points = (hops: readonly Hop[]) => hops.map((h) => `${h.node ?? "-"}:${h.point}`);

describe("predicting a trace under the bgp backend", () => {
  test("pod → pod on another segment: BIRD's route to the router, the node behind it, no VXLAN", () => {
    const plan = bgpPlan("node1-a", "node3-b:8080");
    expect(plan.spec.vxlanPeers).toEqual([]);
    const [path] = predictTrace(BGP_SNAPSHOT, BGP_FACTS, plan).paths;
    expect(path?.outcome).toBe("delivered");
    expect(points(path?.forward ?? [])).toEqual([
      "node1:from-pod",
      "node1:bridge",
      "node1:fib",
      "node1:underlay",
      "node3:fib",
      "node3:to-pod",
    ]);
    expect(path?.forward[2]?.description).toBe(
      "BGP route (proto bird): via 192.0.2.1 dev eth0 to node3 behind it",
    );
    expect(path?.forward[5]?.ttl).toBe(61);
    expect(path?.sourceSeen?.ip).toBe("10.244.0.2");
  });

  test("pod → pod on the same segment: BIRD's route straight to the peer", () => {
    const [path] = predictTrace(BGP_SNAPSHOT, BGP_FACTS, bgpPlan("node1-a", "node2-a:8080")).paths;
    expect(path?.outcome).toBe("delivered");
    expect(path?.forward[2]?.description).toContain(
      "BGP route (proto bird), direct: 10.244.3.0/24 via 192.0.2.12",
    );
  });

  test("without BIRD's route the packet follows the default route out of the cluster: dropped", () => {
    const facts = withFacts("node1", (f) => ({
      ...f,
      routes: f.routes.filter((r) => r.dst !== "10.244.8.0/24"),
    }));
    const [path] = predictTrace(BGP_SNAPSHOT, facts, bgpPlan("node1-a", "node3-b:8080")).paths;
    expect(path?.outcome).toBe("dropped");
  });
});
