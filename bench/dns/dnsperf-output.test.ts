import { describe, expect, test } from "bun:test";
import { DnsperfOutputError, forEachVerboseResponse, parseDnsperfSummary } from "./dnsperf-output.ts";

const RUN = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 5301 -d q.txt -l 10 -Q 15000 -v
[Status] Sending queries (to 127.0.0.1:5301)
[Status] Started at: Sun Dec  6 14:10:00 2026
[Status] Stopping after 10.000000 seconds
> NOERROR svc-00001.bench.svc.cluster.local A 0.000137
> NXDOMAIN nx-4.bench.svc.cluster.local A 0.000201
> NOERROR _http._tcp.svc-00001.bench.svc.cluster.local SRV 0.001500
[Timeout] Query timed out: msg id 17
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         149999
  Queries completed:    149998 (100.00%)
  Queries lost:         1 (0.00%)

  Response codes:       NOERROR 119998 (80.00%), NXDOMAIN 30000 (20.00%)
  Average packet size:  request 47, response 63
  Run time (s):         10.000137
  Queries per second:   14999.594509

  Average Latency (s):  0.000194 (min 0.000030, max 0.006003)
  Latency StdDev (s):   0.000210

`;

describe("dnsperf's summary", () => {
  test("gives counts, rcodes, sizes, throughput and latencies in ms", () => {
    const s = parseDnsperfSummary(RUN);
    expect(s).toMatchObject({
      sent: 149_999,
      completed: 149_998,
      lost: 1,
      requestBytes: 47,
      responseBytes: 63,
    });
    expect(s.rcodes).toEqual({ NOERROR: 119_998, NXDOMAIN: 30_000 });
    expect(s.queriesPerSecond).toBeCloseTo(14_999.594509, 6);
    expect(s.runSeconds).toBeCloseTo(10.000137, 6);
    expect(s.avgLatencyMs).toBeCloseTo(0.194, 9);
    expect(s.minLatencyMs).toBeCloseTo(0.03, 9);
    expect(s.maxLatencyMs).toBeCloseTo(6.003, 9);
    expect(s.stddevLatencyMs).toBeCloseTo(0.21, 9);
  });

  test("a run cut short before its statistics is an error, not zeros", () => {
    expect(() => parseDnsperfSummary(RUN.slice(0, RUN.indexOf("Statistics")))).toThrow(DnsperfOutputError);
    expect(() => parseDnsperfSummary(RUN.replace("0.000194 (min", "fast (min"))).toThrow(DnsperfOutputError);
  });
});

describe("dnsperf -v lines", () => {
  test("every response with its rcode, query line and latency in ms; other lines ignored", () => {
    const seen: [string, string, number][] = [];
    const n = forEachVerboseResponse(RUN, (r) => seen.push([r.rcode, r.query, r.latencyMs]));
    expect(n).toBe(3);
    expect(seen.map(([rcode, query]) => [rcode, query])).toEqual([
      ["NOERROR", "svc-00001.bench.svc.cluster.local A"],
      ["NXDOMAIN", "nx-4.bench.svc.cluster.local A"],
      ["NOERROR", "_http._tcp.svc-00001.bench.svc.cluster.local SRV"],
    ]);
    expect(seen[0]?.[2]).toBeCloseTo(0.137, 9);
    expect(seen[2]?.[2]).toBeCloseTo(1.5, 9);
  });

  test("a last line without a newline is read too", () => {
    expect(forEachVerboseResponse("> NOERROR a.cluster.local A 0.000100", () => {})).toBe(1);
    expect(forEachVerboseResponse("", () => {})).toBe(0);
  });
});
