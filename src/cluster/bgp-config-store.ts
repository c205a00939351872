/**
 * The BGP peering config in the datastore (`/podnet/bgp`): read, changed by compare-and-swap
 * (so two operators' edits never lose one another), and watched by the agents, which re-render
 * BIRD's config on every change. No record means BGP is not configured.
 */
import type { Store, Watch } from "../store/store.ts";
import type { BgpConfig } from "./bgp-config.ts";
import { BgpConfigError, encodeBgpConfig, parseBgpConfig } from "./bgp-config.ts";
import { BGP_KEY } from "./keys.ts";

export interface BgpConfigRead {
  /** Undefined: no record, BGP is not configured. */
  readonly config: BgpConfig | undefined;
  /** The store revision it was read at: watch from revision + 1 to miss nothing. */
  readonly revision: number;
}

export type BgpConfigEvent =
  | { readonly type: "put"; readonly config: BgpConfig; readonly revision: number }
  | { readonly type: "delete"; readonly revision: number }
  /** A record that does not validate (written by a newer or broken client): keep the last good one. */
  | { readonly type: "invalid"; readonly reason: string; readonly revision: number };

export class BgpConfigConflictError extends Error {
  override readonly name = "BgpConfigConflictError";
  constructor(store: string) {
    super(`Cannot update the BGP config in ${store}: it keeps changing under us`);
  }
}

function decode(store: Store, text: string): BgpConfig {
  try {
    return parseBgpConfig(text);
  } catch (error) {
    if (error instanceof BgpConfigError)
      throw new BgpConfigError(error.field, `${error.reason} (stored at ${BGP_KEY} in ${store.description})`);
    throw error;
  }
}

/** The config and the revision it was read at; throws BgpConfigError when the record is invalid. */
export async function readBgpConfigAt(store: Store): Promise<BgpConfigRead> {
  // A list, not a get: the watch that follows needs the store revision even when the key is absent.
  const listed = await store.list(BGP_KEY);
  const kv = listed.kvs.find((k) => k.key === BGP_KEY);
  return { config: kv ? decode(store, kv.value) : undefined, revision: listed.revision };
}

export async function readBgpConfig(store: Store): Promise<BgpConfig | undefined> {
  const kv = await store.get(BGP_KEY);
  return kv ? decode(store, kv.value) : undefined;
}

/**
 * Applies `change` to the stored config (undefined when there is none) and writes the result
 * if nobody wrote in between, else reads again and retries. `change` may throw to refuse (a
 * duplicate peer): nothing is written then. The result is validated before it is stored.
 */
export async function updateBgpConfig(
  store: Store,
  change: (current: BgpConfig | undefined) => BgpConfig,
): Promise<BgpConfig> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const kv = await store.get(BGP_KEY);
    const next = change(kv ? decode(store, kv.value) : undefined);
    const value = encodeBgpConfig(next);
    const r = await store.txn(
      [
        kv
          ? { key: BGP_KEY, target: "modRevision", op: "=", value: kv.modRevision }
          : { key: BGP_KEY, target: "version", op: "=", value: 0 },
      ],
      [{ kind: "put", key: BGP_KEY, value }],
    );
    if (r.succeeded) return parseBgpConfig(value);
  }
  throw new BgpConfigConflictError(store.description);
}

/** Replaces the stored config whatever it holds. */
export function writeBgpConfig(store: Store, config: BgpConfig): Promise<BgpConfig> {
  return updateBgpConfig(store, () => config);
}

/** Removes the record (BGP not configured); returns whether there was one. */
export function deleteBgpConfig(store: Store): Promise<boolean> {
  return store.delete(BGP_KEY);
}

/** Changes of the record from `fromRevision` on, decoded; other keys under the prefix are skipped. */
export function watchBgpConfig(
  store: Store,
  fromRevision: number,
  onEvents: (events: readonly BgpConfigEvent[]) => void,
  onError: (e: Error) => void,
): Watch {
  return store.watch(BGP_KEY, {
    fromRevision,
    onError,
    onEvents: (events) => {
      const decoded: BgpConfigEvent[] = [];
      for (const ev of events) {
        if (ev.type === "delete") {
          if (ev.key === BGP_KEY) decoded.push({ type: "delete", revision: ev.revision });
          continue;
        }
        if (ev.kv.key !== BGP_KEY) continue;
        try {
          decoded.push({ type: "put", config: decode(store, ev.kv.value), revision: ev.revision });
        } catch (error) {
          if (!(error instanceof BgpConfigError)) throw error;
          decoded.push({ type: "invalid", reason: error.message, revision: ev.revision });
        }
      }
      if (decoded.length > 0) onEvents(decoded);
    },
  });
}
