/**
 * A server's memory and CPU time as the kernel counts them: VmRSS (resident now) and VmHWM (the
 * peak resident size over the process's life) from /proc/PID/status, user + system time from
 * /proc/PID/stat. Read from outside, so the reader's own heap is never counted, and the same way
 * for a Bun process and for dnsmasq.
 */
import { readFileSync } from "node:fs";

export interface ProcessMemory {
  readonly rssMiB: number;
  readonly hwmMiB: number;
}

export class ProcStatusError extends Error {
  override readonly name = "ProcStatusError";
}

/** VmRSS and VmHWM of a /proc/PID/status text. */
export function parseProcStatus(text: string, what = "the process"): ProcessMemory {
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!m?.[1]) throw new ProcStatusError(`Cannot read the memory of ${what}: its status has no ${field}`);
    return Number(m[1]);
  };
  return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

/** The memory of a running process; throws ProcStatusError when it is gone. */
export function processMemory(pid: number, what: string): ProcessMemory {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch (e) {
    throw new ProcStatusError(`Cannot read the memory of ${what} (pid ${pid}): ${(e as Error).message}`);
  }
  return parseProcStatus(text, `${what} (pid ${pid})`);
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** User + system CPU seconds of a /proc/PID/stat text (fields 14 and 15, after the "(comm)"). */
export function parseProcStatCpu(text: string, what = "the process"): number {
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (close < 0 || !Number.isInteger(utime) || !Number.isInteger(stime))
    throw new ProcStatusError(`Cannot read the CPU time of ${what}: its stat line is not as proc(5) says`);
  return (utime + stime) / USER_HZ;
}

/** CPU seconds a running process has used so far. */
export function processCpuSeconds(pid: number, what: string): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (e) {
    throw new ProcStatusError(`Cannot read the CPU time of ${what} (pid ${pid}): ${(e as Error).message}`);
  }
  return parseProcStatCpu(text, `${what} (pid ${pid})`);
}
