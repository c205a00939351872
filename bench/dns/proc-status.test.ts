import { describe, expect, test } from "bun:test";
import {
  ProcStatusError,
  parseProcStatCpu,
  parseProcStatus,
  processCpuSeconds,
  processMemory,
} from "./proc-status.ts";

describe("/proc/PID/status and stat", () => {
  test("VmRSS and VmHWM in MiB", () => {
    const text = "Name:\tdnsmasq\nVmPeak:\t  20000 kB\nVmHWM:\t    8192 kB\nVmRSS:\t    4096 kB\n";
    expect(parseProcStatus(text)).toEqual({ rssMiB: 4, hwmMiB: 8 });
    expect(() => parseProcStatus("Name:\tkthreadd\n", "kthreadd")).toThrow(ProcStatusError);
  });

  test("utime + stime in seconds, with a command name that has spaces and parentheses", () => {
    const stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 3133440 410";
    expect(parseProcStatCpu(stat)).toBe(3);
  });

  test("this process: resident memory and CPU time grow as it works", () => {
    const before = processCpuSeconds(process.pid, "the test");
    const end = performance.now() + 300;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    expect(processCpuSeconds(process.pid, "the test")).toBeGreaterThan(before);
    const m = processMemory(process.pid, "the test");
    expect(m.rssMiB).toBeGreaterThan(1);
    expect(m.hwmMiB).toBeGreaterThanOrEqual(m.rssMiB);
  });

  test("a process that is gone is an error naming it", () => {
    expect(() => processMemory(2 ** 22 + 1, "a gone server")).toThrow(/a gone server/);
  });
});
