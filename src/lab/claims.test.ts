import { describe, expect, test } from "bun:test";
import { formatVerdict, labelled, reachWithoutNat, sharedLocalhost, uniquePodIps } from "./claims.ts";
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

describe("uniquePodIps in IPv6 and dual labs", () => {
  const dualBlock = ["10.244.1.0/24", "fd00:10:244:1::/64"];

  test("an IPv6 lab: distinct addresses inside the node's /64 hold", () => {
    const v = uniquePodIps(
      [
        { pod: "a", ips: ["fd00:10:244:1::2"], nodeCidrs: ["fd00:10:244:1::/64"] },
        { pod: "b", ips: ["fd00:10:244:1::3"], nodeCidrs: ["fd00:10:244:1::/64"] },
      ],
      [6],
    );
    expect(v.ok).toBe(true);
    expect(v.evidence).toBe("a=fd00:10:244:1::2 b=fd00:10:244:1::3");
  });

  test("a dual lab: one address of each family, each inside the node's block of that family", () => {
    const ok = uniquePodIps(
      [
        { pod: "a", ips: ["10.244.1.2", "fd00:10:244:1::2"], nodeCidrs: dualBlock },
        { pod: "b", ips: ["10.244.1.3", "fd00:10:244:1::3"], nodeCidrs: dualBlock },
      ],
      [4, 6],
    );
    expect(ok.ok).toBe(true);
  });

  test("a dual lab fails for a pod without its IPv6 address, or with its IPv6 address outside the block", () => {
    const missing = uniquePodIps(
      [
        { pod: "a", ips: ["10.244.1.2"], nodeCidrs: dualBlock },
        { pod: "b", ips: ["10.244.1.3", "fd00:10:244:1::3"], nodeCidrs: dualBlock },
      ],
      [4, 6],
    );
    expect(missing.ok).toBe(false);
    expect(missing.evidence).toBe("a has 0 IPv6 addresses, not 1");
    const outside = uniquePodIps(
      [
        { pod: "a", ips: ["10.244.1.2", "fd00:10:244:2::2"], nodeCidrs: dualBlock },
        { pod: "b", ips: ["10.244.1.3", "fd00:10:244:1::3"], nodeCidrs: dualBlock },
      ],
      [4, 6],
    );
    expect(outside.evidence).toBe(
      "a's fd00:10:244:2::2 is outside its node's block 10.244.1.0/24,fd00:10:244:1::/64",
    );
  });

  test("two spellings of one IPv6 address count as one address held twice", () => {
    const v = uniquePodIps(
      [
        { pod: "a", ips: ["fd00:10:244:1::2"], nodeCidrs: ["fd00:10:244:1::/64"] },
        { pod: "b", ips: ["fd00:10:244:1:0:0:0:2"], nodeCidrs: ["fd00:10:244:1::/64"] },
      ],
      [6],
    );
    expect(v.evidence).toBe("fd00:10:244:1:0:0:0:2 is held by both a and b");
  });

  test("an IPv4 lab whose pod also holds an IPv6 address fails (a family the lab does not run)", () => {
    const v = uniquePodIps([
      { pod: "a", ips: ["10.244.1.2", "fd00:10:244:1::2"], nodeCidrs: dualBlock },
      { pod: "b", ips: ["10.244.1.3"], nodeCidrs: dualBlock },
    ]);
    expect(v.ok).toBe(false);
    expect(v.evidence).toBe("a holds fd00:10:244:1::2, of a family the lab does not run");
  });
});

describe("labelled", () => {
  test("a family label is appended to the claim; the empty label of a single-family lab changes nothing", () => {
    const v = { ok: true, claim: "every node reaches every pod", evidence: "e" };
    expect(labelled(v, " [IPv6]").claim).toBe("every node reaches every pod [IPv6]");
    expect(labelled(v, "")).toBe(v);
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

  test("IPv6: the sender's address in another spelling still holds, a node's address does not", () => {
    const v6 = (from: string) => ({
      from: "a",
      fromIps: ["fd00:10:244:1::2"],
      to: "b",
      toIp: "fd00:10:244:2::3",
      outcome: { kind: "reply" as const, probe: probe({ pod: "b", ip: "fd00:10:244:2::3", from }) },
      path: "node1→node2 vxlan",
    });
    const ok = reachWithoutNat("c", [v6("fd00:10:244:1:0::2")]);
    expect(ok.ok).toBe(true);
    expect(ok.evidence).toBe(
      "1 connections (node1→node2 vxlan); e.g. a → b (fd00:10:244:2::3) seen from fd00:10:244:1:0::2",
    );
    const nat = reachWithoutNat("c", [v6("2001:db8:1::11")]);
    expect(nat.evidence).toBe("b saw a as 2001:db8:1::11, not as its own address fd00:10:244:1::2 (NAT?)");
  });
});
