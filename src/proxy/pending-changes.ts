/**
 * The Services the view said changed and the proxy has not synced yet (pure): keys gathered
 * across coalesced events, or "everything" after the view listed again. A sync takes at most a
 * bounded number of them; the rest wait for the next sync, which the caller requests at once. A
 * burst of 10,000 new Services then costs a series of bounded transactions rather than one that
 * holds every Service's old and new rules and a megabyte of text at the same time.
 */
import { serviceKey } from "../k8s/service-model.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import type { EntryChange, SyncedServices } from "./synced-services.ts";

/** What the proxy reads of its view. */
export interface EntrySource {
  entries(): readonly ServiceEntry[];
  entry(key: string): ServiceEntry | undefined;
}

export class PendingChanges {
  private readonly keys = new Set<string>();
  /** Take every Service from the view (the first sync, and after the view listed again). */
  private everything = true;

  constructor(private readonly limit: number) {}

  /** The view listed again: the next take() compares every Service. */
  relisted(): void {
    this.everything = true;
  }

  changed(keys: Iterable<string>): void {
    for (const key of keys) this.keys.add(key);
  }

  /** Whether some are left after a take(). */
  get more(): boolean {
    return this.everything || this.keys.size > 0;
  }

  /**
   * Takes up to `limit` of them into `synced`; returns what changed. After a relisting, the
   * Services that differ from what was synced join the others — all at once only on the first
   * sync, which replaces the table in full and must not leave Services out of it.
   */
  take(view: EntrySource, synced: SyncedServices): EntryChange[] {
    if (this.everything) {
      this.everything = false;
      const changes = synced.relisted(view.entries(), (e) => serviceKey(e.service));
      if (synced.size === 0) {
        this.keys.clear();
        return synced.take(changes);
      }
      for (const [key] of synced.differing(changes)) this.keys.add(key);
    }
    const taken: string[] = [];
    for (const key of this.keys) {
      if (taken.length === this.limit) break;
      taken.push(key);
    }
    for (const key of taken) this.keys.delete(key);
    return synced.take(taken.map((key) => [key, view.entry(key)] as const));
  }
}
