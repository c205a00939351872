/**
 * What the agent remembers on its node between runs (in its state dir under /run): the blocks it
 * held, so a restart after its lease expired still asks for the same block first.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";

export function loadPreviousBlocks(stateDir: string): IPPrefix[] {
  try {
    const raw = JSON.parse(readFileSync(`${stateDir}/agent.json`, "utf8")) as { blocks?: unknown };
    if (!Array.isArray(raw.blocks)) return [];
    return raw.blocks.filter((b): b is string => typeof b === "string").map((b) => parsePrefix(b));
  } catch {
    return [];
  }
}

export function saveBlocks(stateDir: string, blocks: readonly IPPrefix[]): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${stateDir}/.agent.json.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ blocks: blocks.map(formatPrefix) }));
  renameSync(tmp, `${stateDir}/agent.json`);
}
