/** The last lines of a process's log file, for an error that says why it failed to start. */
import { existsSync, readFileSync } from "node:fs";

export function logTail(path: string, lines = 5): string {
  return existsSync(path)
    ? readFileSync(path, "utf8").trim().split("\n").slice(-lines).join(" | ")
    : "(no output)";
}
