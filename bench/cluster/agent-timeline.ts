/** An agent's start and its complaints, read from its log for the benchmark's report (pure). */
import type { LogEntry } from "../../testkit/agent-log.ts";

/** Milestones of an agent's start, ms after `originMs` (null when the agent never logged it). */
export interface StartTimeline {
  /** First line of any kind: the process is up and has opened its datastore. */
  readonly firstLogMs: number | null;
  readonly blocksLeasedMs: number | null;
  readonly conflistWrittenMs: number | null;
  readonly readyMs: number | null;
}

export function startTimeline(entries: readonly LogEntry[], originMs: number): StartTimeline {
  const at = (msg?: string) => {
    const e = entries.find((x) => x.atMs >= originMs - 1 && (msg === undefined || x.msg === msg));
    return e ? e.atMs - originMs : null;
  };
  return {
    firstLogMs: at(),
    blocksLeasedMs: at("blocks leased"),
    conflistWrittenMs: at("CNI config written"),
    readyMs: at("node network programmed: ready"),
  };
}

/** Lines at warn or error level since `originMs`, for the report. */
export function problems(entries: readonly LogEntry[], originMs: number): LogEntry[] {
  return entries.filter((e) => e.atMs >= originMs && (e.level === "warn" || e.level === "error"));
}
