import { describe, expect, test } from "bun:test";
import { formatVerdict, reachWithoutNat, sharedLocalhost, uniquePodIps } from "./claims.ts";
import type { EchoProbe } from "./echo-server.ts";

const block = ["10.244.1.0/24"];

function probe(over: Partial<EchoProbe["reply"]>, client: Partial<Omit<EchoProbe, "reply">> = {}): EchoProbe {
  return {
    reply: {
      pod: "a",
      ip: "10.244.1.2",
      from: "127.0.0.1",
      fromPort: 40000,
      pid: 10,
      netns: "net:[1]",
      proto: "tcp",
      ...over,
    },
    clientNetns: "net:[1]",
    clientPid: 20,
    replyFrom: "10.244.1.2",
    localIp: "127.0.0.1",
    localPort: 40000,
    ...client,
  };
}

describe("uniquePodIps", () => {
  test("holds for distinct addresses inside the node's block", () => {
    const v = uniquePodIps([
      { pod: "a", ips: ["10.244.1.2"], nodeCidrs: block },
      { pod: "b", ips: ["10.244.1.3"], nodeCidrs: block },
    ]);
    expect(v.ok).toBe(true);
    expect(formatVerdict(v)).toStartWith("✓");
  });

  test("fails on a duplicate, a missing address, or an address outside the block", () => {
    expect(
      uniquePodIps([
        { pod: "a", ips: ["10.244.1.2"], nodeCidrs: block },
        { pod: "b", ips: ["10.244.1.2"], nodeCidrs: block },
      ]).evidence,
    ).toContain("held by both a and b");
    expect(
      uniquePodIps([
        { pod: "a", ips: [], nodeCidrs: block },
        { pod: "b", ips: ["10.244.1.3"], nodeCidrs: block },
      ]).ok,
    ).toBe(false);
    const outside = uniquePodIps([
      { pod: "a", ips: ["10.9.9.9"], nodeCidrs: block },
      { pod: "b", ips: ["10.244.1.3"], nodeCidrs: block },
    ]);
    expect(outside.ok).toBe(false);
    expect(formatVerdict(outside)).toStartWith("✗");
  });
});

describe("sharedLocalhost", () => {
  test("holds when another process of the same namespace answers on loopback", () => {
    expect(sharedLocalhost("a", { kind: "reply", probe: probe({}) }).ok).toBe(true);
  });

  test("fails for another namespace, the same process, a non-loopback source or no answer", () => {
    expect(sharedLocalhost("a", { kind: "reply", probe: probe({ netns: "net:[2]" }) }).ok).toBe(false);
    expect(sharedLocalhost("a", { kind: "reply", probe: probe({ pid: 20 }) }).ok).toBe(false);
    expect(sharedLocalhost("a", { kind: "reply", probe: probe({ from: "10.244.1.2" }) }).ok).toBe(false);
    expect(sharedLocalhost("a", { kind: "error", message: "refused" }).ok).toBe(false);
  });
});

describe("reachWithoutNat", () => {
  const pair = (from: string) => ({
    from: "a",
    fromIps: ["10.244.1.2"],
    to: "b",
    toIp: "10.244.1.3",
    outcome: { kind: "reply" as const, probe: probe({ pod: "b", ip: "10.244.1.3", from }) },
  });

  test("holds when the receiver sees the sender's pod IP", () => {
    expect(reachWithoutNat("c", [pair("10.244.1.2")]).ok).toBe(true);
  });

  test("fails when the source was rewritten, the wrong pod answered, or nothing was probed", () => {
    const nat = reachWithoutNat("c", [pair("192.0.2.1")]);
    expect(nat.ok).toBe(false);
    expect(nat.evidence).toContain("NAT");
    expect(reachWithoutNat("c", [{ ...pair("10.244.1.2"), to: "c" }]).ok).toBe(false);
    expect(reachWithoutNat("c", []).ok).toBe(false);
  });
});
