/**
 * How the agent answers explain/trace with what it could read: each part that fails is named in
 * `errors` ("conntrack: …") and replaced by its fallback, so one unreadable part never costs the
 * whole answer.
 */

import { errorText } from "../base/error-text.ts";

export interface PartialAnswer {
  readonly errors: string[];
  /** Runs `body`; on failure records "WHAT: reason" and returns `fallback`. */
  attempt<T>(what: string, fallback: T, body: () => Promise<T>): Promise<T>;
}

export function partialAnswer(): PartialAnswer {
  const errors: string[] = [];
  return {
    errors,
    async attempt<T>(what: string, fallback: T, body: () => Promise<T>): Promise<T> {
      try {
        return await body();
      } catch (e) {
        errors.push(`${what}: ${errorText(e)}`);
        return fallback;
      }
    },
  };
}
