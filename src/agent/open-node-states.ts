/**
 * The node states the agent keeps open while it serves plugin operations (cni-service.ts): an
 * operation on an open state skips opening the database, reading its schema and checkpointing
 * on close — most of what podnet-ipam costs per pod. A database file replaced under us (the
 * state directory removed and made anew) is noticed by its inode and opened again.
 */
import { statSync } from "node:fs";
import { NodeState } from "../node-state/node-state.ts";
import type { NodeStateCache } from "../plugin/plugin-request.ts";

interface Entry {
  readonly state: NodeState;
  readonly dev: number;
  readonly ino: number;
}

/** A config can name any data dir; only a few are kept, the least recently used closed first. */
const MAX_OPEN = 4;

function identity(path: string): { dev: number; ino: number } | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? undefined : { dev: st.dev, ino: st.ino };
}

export class OpenNodeStates implements NodeStateCache {
  private readonly entries = new Map<string, Entry>();

  use(dataDir: string): NodeState {
    const cached = this.entries.get(dataDir);
    if (cached !== undefined) {
      this.entries.delete(dataDir);
      const now = identity(cached.state.path);
      if (now !== undefined && now.dev === cached.dev && now.ino === cached.ino) {
        this.entries.set(dataDir, cached);
        return cached.state;
      }
      cached.state.close();
    }
    const state = NodeState.open(dataDir);
    const id = identity(state.path);
    if (id === undefined) return state;
    this.entries.set(dataDir, { state, ...id });
    for (const [dir, entry] of this.entries) {
      if (this.entries.size <= MAX_OPEN) break;
      entry.state.close();
      this.entries.delete(dir);
    }
    return state;
  }

  closeAll(): void {
    for (const entry of this.entries.values()) entry.state.close();
    this.entries.clear();
  }
}
