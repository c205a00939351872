/** What a test agent logged (stderr, kept in a file), for assertions and failure messages. */
import { existsSync, readFileSync } from "node:fs";
import type { LogEntry } from "../../../testkit/agent-log.ts";
import { parseAgentLog } from "../../../testkit/agent-log.ts";

export interface LoggingProcess {
  readonly logPath: string;
}

/** The agent's log lines, oldest first. */
export function agentLog(agent: LoggingProcess): LogEntry[] {
  return existsSync(agent.logPath) ? parseAgentLog(readFileSync(agent.logPath, "utf8")) : [];
}

/** The last lines of the log as written, for a failure message. */
export function logTail(agent: LoggingProcess, lines = 8): string {
  if (!existsSync(agent.logPath)) return "(no log)";
  return readFileSync(agent.logPath, "utf8").trim().split("\n").slice(-lines).join("\n");
}
