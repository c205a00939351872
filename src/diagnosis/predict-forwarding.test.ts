import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { DUAL_FACTS } from "./fixtures/lab-dual.ts";
import { bridgeNetfilter, bridgeNetfilterCommand, bridgeNetfilterEvidence } from "./predict-forwarding.ts";

const NODE1 = DUAL_FACTS[0] as NodeFacts;
const withSysctls = (s: Record<string, string>): NodeFacts => ({
  ...NODE1,
  sysctls: { ...NODE1.sysctls, ...s },
});

describe("bridgeNetfilter per family", () => {
  test("IPv6 reads bridge-nf-call-ip6tables: off there while IPv4 stays on", () => {
    const f = withSysctls({
      "net.bridge.bridge-nf-call-iptables": "1",
      "net.bridge.bridge-nf-call-ip6tables": "0",
    });
    expect(bridgeNetfilter(f, 4)).toBe(true);
    expect(bridgeNetfilter(f, 6)).toBe(false);
    expect(bridgeNetfilterEvidence(f, 6)).toBe("net.bridge.bridge-nf-call-ip6tables = 0");
    expect(bridgeNetfilterCommand(6)).toBe("sysctl net.bridge.bridge-nf-call-ip6tables");
  });

  test("an agent that reported only the IPv4 sysctl: IPv6 follows it; none at all: br_netfilter not loaded", () => {
    const { "net.bridge.bridge-nf-call-ip6tables": _, ...only4 } = withSysctls({
      "net.bridge.bridge-nf-call-iptables": "1",
    }).sysctls;
    expect(bridgeNetfilter({ ...NODE1, sysctls: only4 }, 6)).toBe(true);
    const none = Object.fromEntries(Object.entries(only4).filter(([k]) => !k.startsWith("net.bridge.")));
    expect(bridgeNetfilter({ ...NODE1, sysctls: none }, 6)).toBe(false);
    expect(bridgeNetfilterEvidence({ ...NODE1, sysctls: none }, 6)).toContain("br_netfilter is not loaded");
  });
});
