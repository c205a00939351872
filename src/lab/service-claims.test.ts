import { describe, expect, test } from "bun:test";
import type { ProbeOutcome } from "./claims.ts";
import type { EchoProbe } from "./echo-reply.ts";
import {
  egressMasquerade,
  nodePortOnEveryNode,
  refusedAtOnce,
  repliesFromClusterIP,
} from "./service-claims.ts";

function reply(pod: string, from: string, replyFrom = "10.96.0.10"): ProbeOutcome {
  const probe: EchoProbe = {
    reply: { pod, ip: "10.244.1.2", from, fromPort: 40000, pid: 10, netns: "net:[1]", proto: "tcp" },
    clientNetns: "net:[2]",
    clientPid: 20,
    replyFrom,
    localIp: "10.244.2.2",
    localPort: 40000,
  };
  return { kind: "reply", probe };
}
const refused: ProbeOutcome = { kind: "error", message: "connect ECONNREFUSED" };

describe("nodePortOnEveryNode", () => {
  test("an IPv6 node address is bracketed before its port in the evidence of a failure", () => {
    const v = nodePortOnEveryNode(30080, [
      { node: "node1", address: "2001:db8:1::11", outcome: reply("node1-a", "2001:db8:3::100") },
      { node: "node2", address: "2001:db8:1::12", outcome: refused },
    ]);
    expect(v.ok).toBe(false);
    expect(v.evidence).toBe("node2 ([2001:db8:1::12]:30080): connect ECONNREFUSED");
    const v4 = nodePortOnEveryNode(30080, [{ node: "node1", address: "192.0.2.11", outcome: refused }]);
    expect(v4.evidence).toBe("node1 (192.0.2.11:30080): connect ECONNREFUSED");
  });
});

describe("replies and masquerade compare addresses, not their spelling", () => {
  test("a reply from the ClusterIP written another way is from the ClusterIP", () => {
    const v = repliesFromClusterIP("fd00:10:96::e432", [
      { client: "a", proto: "tcp", outcome: reply("b", "fd00:10:244::2", "fd00:10:96:0:0:0:0:e432") },
      { client: "a", proto: "udp", outcome: reply("b", "fd00:10:244::2", "FD00:10:96::E432") },
    ]);
    expect(v.ok).toBe(true);
    const other = repliesFromClusterIP("fd00:10:96::e432", [
      { client: "a", proto: "tcp", outcome: reply("b", "fd00:10:244::2", "fd00:10:96::e433") },
      { client: "a", proto: "udp", outcome: reply("b", "fd00:10:244::2", "fd00:10:96::e432") },
    ]);
    expect(other.ok).toBe(false);
  });

  test("the external host sees the node's address; another node's pod sees the pod's", () => {
    const ok = egressMasquerade(
      { pod: "a", nodeIps: ["2001:db8:1::11"], outcome: reply("external", "2001:db8:1:0::11") },
      { pod: "a", podIp: "fd00:10:244::2", to: "b", outcome: reply("b", "fd00:10:244:0::2") },
    );
    expect(ok.ok).toBe(true);
    const nat = egressMasquerade(
      { pod: "a", nodeIps: ["2001:db8:1::11"], outcome: reply("external", "fd00:10:244::2") },
      undefined,
    );
    expect(nat.ok).toBe(false);
  });
});

describe("refusedAtOnce", () => {
  test("its evidence names what was probed, as service-check writes it", () => {
    const v = refusedAtOnce([
      { what: "undefined port [fd00:10:96::e432]:81", outcome: refused, elapsedMs: 3.4 },
    ]);
    expect(v).toEqual({
      ok: true,
      claim:
        "a Service without endpoints, and a port its ClusterIP does not define, refuse connections at once",
      evidence: "undefined port [fd00:10:96::e432]:81: refused after 3 ms",
    });
  });
});
