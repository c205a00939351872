import type { Invocation } from "../cni/env.ts";

/** One execution of the plugin by a runtime: what every verb, and a delegate IPAM, is handed. */
export interface PluginRequest {
  readonly invocation: Invocation;
  /** stdin exactly as received (handed unchanged to a delegate). */
  readonly stdin: string;
  readonly env: Record<string, string | undefined>;
}
