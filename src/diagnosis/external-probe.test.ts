import { describe, expect, test } from "bun:test";
import type { TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { ExternalProbeError, probeArgv } from "./external-probe.ts";

const spec = (over: Partial<TraceSpec>): TraceSpec => ({
  proto: "tcp",
  source: { kind: "external", ip: "203.0.113.100" },
  destination: { ip: "192.0.2.11", port: 30080 },
  sourcePort: 24000,
  match: { pairs: [["203.0.113.100", "192.0.2.11"]], ports: [24000, 30080] },
  vxlanPeers: [],
  probeTimeoutMs: 2000,
  ...over,
});

describe("probeArgv", () => {
  test("tcp and udp carry the port and the chosen source port", () => {
    expect(probeArgv(spec({}))).toEqual([
      "probe",
      "--to",
      "192.0.2.11",
      "--proto",
      "tcp",
      "--port",
      "30080",
      "--sport",
      "24000",
      "--timeout-ms",
      "2000",
    ]);
    expect(probeArgv(spec({ proto: "udp", sourcePort: undefined }))).toEqual([
      "probe",
      "--to",
      "192.0.2.11",
      "--proto",
      "udp",
      "--port",
      "30080",
      "--timeout-ms",
      "2000",
    ]);
  });

  test("icmp has no ports (podnet probe refuses them); addresses are canonical", () => {
    expect(
      probeArgv(spec({ proto: "icmp", destination: { ip: "2001:DB8::0:1" }, probeTimeoutMs: 700 })),
    ).toEqual(["probe", "--to", "2001:db8::1", "--proto", "icmp", "--timeout-ms", "700"]);
  });

  test("a tcp probe without a port, or a destination that is no address, is refused", () => {
    expect(() => probeArgv(spec({ destination: { ip: "192.0.2.11" } }))).toThrow(ExternalProbeError);
    expect(() => probeArgv(spec({ destination: { ip: "-rf", port: 80 } }))).toThrow(/-rf/);
  });
});
