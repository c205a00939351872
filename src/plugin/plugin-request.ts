import type { Invocation } from "../cni/env.ts";
import type { NodeState } from "../node-state/node-state.ts";

/**
 * Node states a long-lived caller (the agent serving plugins) keeps open between operations, so
 * an operation skips opening the database; an executed plugin has none and opens its own.
 */
export interface NodeStateCache {
  /** The open state of `dataDir`; the caller owns it (it is never closed by the operation). */
  use(dataDir: string): NodeState;
}

/** One execution of the plugin by a runtime: what every verb, and a delegate IPAM, is handed. */
export interface PluginRequest {
  readonly invocation: Invocation;
  /** stdin exactly as received (handed unchanged to a delegate). */
  readonly stdin: string;
  readonly env: Record<string, string | undefined>;
  readonly stateCache?: NodeStateCache;
}
