/** The routing every node of a test cluster should have to its peers, checked against the kernel. */
import { VXLAN_DEV } from "../../../src/agent/vxlan-device.ts";
import { addressOf } from "./cluster-node.ts";
import { vxlanMacIn } from "./node-routing.ts";
import type { TestCluster } from "./test-cluster.ts";

/** How a node must reach a peer's block: "none" means no podnet route at all. */
export type PathKind = "direct" | "vxlan" | "none";

/**
 * Everything that differs from the expected peer routes, read from the kernel: a direct route via
 * the peer's node IP on eth0, or a route via the peer's VTEP (its block's network address) on the
 * VXLAN device, onlink, with a permanent neighbour entry holding the MAC of the peer's own VXLAN
 * device and an FDB entry sending that MAC to the peer's node IP. Empty when all is as expected.
 */
export function routeProblems(
  c: TestCluster,
  names: readonly string[],
  kind: (from: string, to: string) => PathKind,
  nodeIP: (name: string) => string = (n) => addressOf(c.node(n)),
): string[] {
  const problems: string[] = [];
  for (const from of names) {
    const routes = c.peerRoutes(from);
    let wanted = 0;
    for (const to of names) {
      if (to === from) continue;
      const block = c.blockOf(to);
      const route = routes.find((r) => r.dst === block);
      const k = kind(from, to);
      const show = `${from}→${to} (${block}): ${JSON.stringify(route ?? null)}`;
      if (k === "none") {
        if (route) problems.push(`${show} should have no route`);
        continue;
      }
      wanted++;
      if (k === "direct") {
        const onlink = route?.flags?.includes("onlink") ?? false;
        if (route?.gateway !== nodeIP(to) || route.dev !== "eth0" || onlink)
          problems.push(`${show} should be via ${nodeIP(to)} dev eth0`);
        continue;
      }
      const vtep = block.split("/")[0] as string;
      if (route?.gateway !== vtep || route.dev !== VXLAN_DEV || !route.flags?.includes("onlink"))
        problems.push(`${show} should be via ${vtep} dev ${VXLAN_DEV} onlink`);
      const mac = vxlanMacIn(c.node(to).netns);
      if (!mac) {
        problems.push(`${to} has no ${VXLAN_DEV}`);
        continue;
      }
      const neigh = c.neighs(from).find((n) => n.dst === vtep);
      if (neigh?.lladdr !== mac || !neigh.state?.includes("PERMANENT"))
        problems.push(
          `${from}: neighbour ${vtep} should be ${mac} permanent, is ${JSON.stringify(neigh ?? null)}`,
        );
      const fdb = c.fdb(from).filter((f) => f.mac === mac);
      if (fdb.length !== 1 || fdb[0]?.dst !== nodeIP(to) || fdb[0]?.state !== "permanent")
        problems.push(`${from}: fdb for ${mac} should send to ${nodeIP(to)}, is ${JSON.stringify(fdb)}`);
    }
    if (routes.length !== wanted)
      problems.push(
        `${from} has ${routes.length} podnet routes, expected ${wanted}: ${JSON.stringify(routes)}`,
      );
  }
  return problems;
}
