/**
 * A fresh node-state directory per test (`dir`, inside a temporary `root`), with every NodeState
 * opened through `open` closed and the directory removed after the test. Call at the top of a
 * test file.
 */
import { afterEach, beforeEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NodeState } from "../../src/node-state/node-state.ts";

export interface TempNodeState {
  /** The test's temporary directory. */
  readonly root: string;
  /** The data dir inside it (not created: NodeState.open creates it). */
  readonly dir: string;
  open(dataDir?: string): NodeState;
}

export function useTempNodeState(prefix: string): TempNodeState {
  let root = "";
  const opened: NodeState[] = [];
  beforeEach(() => {
    root = mkdtempSync(`/tmp/${prefix}-`);
  });
  afterEach(() => {
    for (const state of opened.splice(0)) state.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return root;
    },
    get dir() {
      return join(root, "state");
    },
    open(dataDir = join(root, "state")) {
      const state = NodeState.open(dataDir);
      opened.push(state);
      return state;
    },
  };
}
