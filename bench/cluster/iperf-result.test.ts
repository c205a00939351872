import { describe, expect, test } from "bun:test";
import { IperfOutputError, parseIperfJson } from "./iperf-result.ts";

const sample = {
  start: { connected: [] },
  intervals: [],
  end: {
    sum_sent: { seconds: 5.0001, bytes: 12_500_000_000, bits_per_second: 20.1e9, retransmits: 3 },
    sum_received: { seconds: 5.0004, bytes: 12_400_000_000, bits_per_second: 19.9e9 },
    cpu_utilization_percent: { host_total: 88.5, remote_total: 61.25 },
  },
};

describe("parseIperfJson", () => {
  test("keeps the receiver's rate, the sender's retransmits and both CPU figures", () => {
    const r = parseIperfJson(JSON.stringify(sample));
    expect(r).toEqual({
      receivedBps: 19.9e9,
      sentBps: 20.1e9,
      retransmits: 3,
      seconds: 5.0004,
      cpuClientPercent: 88.5,
      cpuServerPercent: 61.25,
    });
  });

  test("an iperf3 error document is reported with its message", () => {
    expect(() =>
      parseIperfJson(JSON.stringify({ error: "unable to connect to server: Connection refused" })),
    ).toThrow("iperf3 failed: unable to connect to server: Connection refused");
  });

  test("output that is not JSON, or has no summary, is an IperfOutputError", () => {
    expect(() => parseIperfJson("iperf3: error")).toThrow(IperfOutputError);
    expect(() => parseIperfJson("")).toThrow("not JSON (empty)");
    expect(() => parseIperfJson(JSON.stringify({ end: { sum_sent: { bits_per_second: 1 } } }))).toThrow(
      "no end.sum_received",
    );
  });

  test("missing CPU figures are null, missing retransmits 0", () => {
    const r = parseIperfJson(
      JSON.stringify({ end: { sum_sent: { bits_per_second: 1 }, sum_received: { bits_per_second: 2 } } }),
    );
    expect(r.cpuClientPercent).toBeNull();
    expect(r.retransmits).toBe(0);
  });
});
