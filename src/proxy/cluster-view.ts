/**
 * The node's one view of Services and pod records (a shell over the pure EndpointIndex): it lists
 * both, watches both from the next revision and keeps each Service's ready endpoints up to date.
 * The service proxy and the node-local DNS read the same view, so the agent holds one watch of
 * each, however many parts follow them. A failed watch is logged, told to the subscribers, and
 * listed and watched again (daemon/watch-keeper.ts).
 */
import { listPodRecords, watchPodRecords } from "../cluster/pod-records.ts";
import { listServices, watchServices } from "../cluster/service-store.ts";
import type { Logger } from "../daemon/log.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import type { Store, Watch } from "../store/store.ts";
import { EndpointIndex, type ServiceEntry } from "./endpoint-index.ts";

/**
 * What changed: "listed" (everything was listed again, after a watch failed or a first listing
 * that start() could not make), or a batch of Service or pod events.
 */
export type ViewChange = "listed" | "services" | "pods";

export interface ViewSubscriber {
  /**
   * The view changed (its entries() are up to date when this is called). After watch events,
   * `services` holds the keys (namespace/name) of the Services whose entry was replaced or
   * removed, so a follower can update only those (read each with entry()); after "listed" it is
   * undefined: take everything from entries().
   */
  changed(change: ViewChange, services?: ReadonlySet<string>): void;
  /** A watch failed; the view lists and watches again by itself. For metrics. */
  failed?(error: Error): void;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export class ClusterView {
  private readonly index = new EndpointIndex();
  private readonly watches: WatchKeeper;
  private readonly subscribers = new Set<ViewSubscriber>();
  private listedOnce = false;
  private starting = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    this.watches = new WatchKeeper({
      open: (failed) => this.listAndWatch(failed),
      // listAndWatch already told the subscribers.
      reopened: () => {},
      failed: (error) => {
        this.log.error("Service/pod watch failed; listing and watching again", { error });
        for (const s of this.subscribers) s.failed?.(error);
      },
    });
  }

  /** Whether the view has listed the datastore at least once (before that, it knows nothing). */
  get listed(): boolean {
    return this.listedOnce;
  }

  /** Every Service with its ready endpoints, sorted by namespace/name. */
  entries(): ServiceEntry[] {
    return this.index.entries();
  }

  /** The entry of one Service by its key, namespace/name (undefined: there is no such Service). */
  entry(key: string): ServiceEntry | undefined {
    return this.index.entry(key);
  }

  get counts(): { services: number; pods: number } {
    return this.index.counts;
  }

  /** Follows the view's changes from now on; returns the way to stop following them. */
  subscribe(subscriber: ViewSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /**
   * Lists and watches (once; later calls wait for the first). Never throws: when the first listing
   * fails, it is retried, and the subscribers hear "listed" when it works. A listing made here is
   * not announced: the caller reads `listed` and entries() when this resolves.
   */
  start(): Promise<void> {
    this.started ??= this.open();
    return this.started;
  }

  stop(): void {
    this.watches.close();
  }

  private async open(): Promise<void> {
    this.starting = true;
    try {
      await this.watches.open();
    } catch (e) {
      this.watches.fail(asError(e));
    } finally {
      this.starting = false;
    }
  }

  private notify(change: ViewChange): void {
    const services = this.index.takeChanged();
    for (const s of this.subscribers) s.changed(change, change === "listed" ? undefined : services);
  }

  private async listAndWatch(failed: (e: Error) => void): Promise<Watch[]> {
    const [services, pods] = await Promise.all([listServices(this.store), listPodRecords(this.store)]);
    for (const reason of [...services.invalid, ...pods.invalid]) this.log.warn("record skipped", { reason });
    this.index.reset(services.services, pods.pods);
    this.listedOnce = true;
    if (!this.starting) this.notify("listed");
    return [
      watchServices(
        this.store,
        services.revision + 1,
        (events) => {
          for (const ev of events) {
            if (ev.type === "put") this.index.putService(ev.service);
            else if (ev.type === "delete") this.index.deleteService(ev.namespace, ev.name);
            else this.log.warn("Service record skipped", { key: ev.key, reason: ev.reason });
          }
          this.notify("services");
        },
        failed,
      ),
      watchPodRecords(
        this.store,
        pods.revision + 1,
        (events) => {
          for (const ev of events) {
            if (ev.type === "put") this.index.putPod(ev.pod);
            else if (ev.type === "delete") this.index.deletePod(ev.pod);
            else this.log.warn("pod record skipped", { key: ev.key, reason: ev.reason });
          }
          this.notify("pods");
        },
        failed,
      ),
    ];
  }
}
