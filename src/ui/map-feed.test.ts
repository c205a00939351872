import { afterEach, describe, expect, test } from "bun:test";
import { twoNodeCluster } from "../../test/support/two-node-cluster.ts";
import { pollUntil } from "../base/poll-until.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import type { Store, WatchOptions } from "../store/store.ts";
import { MapFeed } from "./map-feed.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function feedOn(
  behaviour: Parameters<typeof twoNodeCluster>[1],
  o: ConstructorParameters<typeof MapFeed>[1] = {},
) {
  const { store, agents } = await twoNodeCluster(cleanup, behaviour);
  const feed = new MapFeed(store, { factsTimeoutMs: 300, settleMs: 10, log: () => {}, ...o });
  cleanup.push(() => feed.close());
  await feed.start();
  return { store, agents, feed };
}

describe("MapFeed", () => {
  test("facts gathers that change nothing shown keep the version (their requests move the revision)", async () => {
    const { store, feed } = await feedOn(undefined);
    const first = feed.current();
    expect(first.nodes.map((n) => n.answering)).toEqual([true, true]);
    await feed.gatherFacts();
    await feed.gatherFacts();
    expect(feed.current().version).toBe(first.version);
    expect((await store.list("/podnet/config")).revision).toBeGreaterThan(first.revision);
    // A real change still makes a new version.
    await putPodRecord(store, {
      namespace: "default",
      name: "api",
      node: "node2",
      ips: ["10.244.2.5"],
      labels: {},
    });
    await pollUntil("the new pod's version", () => feed.current().version > first.version, 3000);
  });

  test("a map is serialized once, shared by every page", async () => {
    const { feed } = await feedOn(undefined);
    const map = feed.current();
    const a = feed.serialized(map);
    const b = feed.serialized(feed.current());
    expect(b).toBe(a);
    expect(b.event).toBe(a.event);
    expect(JSON.parse(a.json)).toEqual(map);
    expect(new TextDecoder().decode(a.event)).toBe(`event: map\ndata: ${a.json}\n\n`);
  });

  test("a silent node is asked again alone, later each time; the others are not asked", async () => {
    const { agents, feed } = await feedOn(
      { node1: "answer", node2: "silent" },
      { factsIntervalMs: 3_600_000, missingRetryMs: 100, missingRetryMaxMs: 400 },
    );
    expect(feed.current().nodes.map((n) => n.answering)).toEqual([true, false]);
    const facts = () => agents.requests.filter((r) => r.kind === "facts");
    expect(facts().map((r) => r.nodes)).toEqual([[]]);
    const times: number[] = [];
    const release = feed.watch();
    cleanup.push(release);
    while (times.length < 4) {
      const before = facts().length;
      await pollUntil(
        "a retry",
        () => {
          feed.freshen();
          return facts().length > before;
        },
        5000,
        { intervalMs: 10 },
      );
      times.push(Date.now());
    }
    expect(
      facts()
        .slice(1)
        .every((r) => r.nodes.length === 1 && r.nodes[0] === "node2"),
    ).toBe(true);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    // Delays 200 → 400 → 400 (each retry waits its 300 ms timeout, then the backed-off delay).
    expect(gaps[0]).toBeGreaterThanOrEqual(450);
    expect(gaps[1]).toBeGreaterThanOrEqual(650);
    // node1's facts were kept across the partial gathers.
    expect(feed.current().nodes.map((n) => n.answering)).toEqual([true, false]);
  });
});

/** `store` with reads that fail while `broken` is set, and a handle on its watches' error callbacks. */
function breakable(store: Store) {
  const control = { broken: false, watchErrors: [] as ((e: Error) => void)[] };
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "list" || prop === "get")
        return (...args: unknown[]) => {
          if (control.broken) return Promise.reject(new Error("database is locked (injected)"));
          return (Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown).apply(target, args);
        };
      if (prop === "watch")
        return (prefix: string, o: WatchOptions) => {
          // The feed's own watch (facts requests watch their answers' prefix).
          if (prefix === "/podnet/") control.watchErrors.push(o.onError);
          return target.watch(prefix, o);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { store: wrapped, control };
}

/** A started feed on a two-node cluster whose store can be broken. */
async function breakableFeed() {
  const { store: real } = await twoNodeCluster(cleanup);
  const { store, control } = breakable(real);
  const feed = new MapFeed(store, { factsTimeoutMs: 300, settleMs: 10, log: () => {} });
  cleanup.push(() => feed.close());
  await feed.start();
  return { control, feed };
}

describe("MapFeed when the datastore fails", () => {
  test("a failing read marks the map stale (a new version), a working one clears it", async () => {
    const { control, feed } = await breakableFeed();
    const fresh = feed.current();
    expect(fresh.stale).toBeUndefined();

    control.broken = true;
    const before = Date.now();
    await feed.gatherFacts();
    const stale = await feed.next(fresh.version, 3000);
    expect(stale?.stale?.reason).toBe("reading the datastore failed: database is locked (injected)");
    expect(Date.parse(stale?.stale?.since ?? "")).toBeGreaterThanOrEqual(before - 1000);
    // The cluster as last read is still shown.
    expect(stale?.nodes.map((n) => n.name)).toEqual(fresh.nodes.map((n) => n.name));
    // Failing again changes nothing a page shows: no new version, the same `since`.
    await feed.gatherFacts();
    expect(feed.current().version).toBe(stale?.version ?? -1);
    expect(feed.current().stale?.since).toBe(stale?.stale?.since ?? "");

    control.broken = false;
    await feed.gatherFacts();
    const again = await feed.next(stale?.version ?? 0, 3000);
    expect(again?.stale).toBeUndefined();
  });

  test("a failed watch marks the map stale until the watch is open again", async () => {
    const { control, feed } = await breakableFeed();
    const fresh = feed.current();
    control.watchErrors[0]?.(new Error("connection lost (injected)"));
    const stale = await feed.next(fresh.version, 3000);
    expect(stale?.stale?.reason).toBe("watching the datastore failed: connection lost (injected)");
    // The keeper opens the watch again after its pause: the map is live again.
    const again = await feed.next(stale?.version ?? 0, 5000);
    expect(again?.stale).toBeUndefined();
    expect(control.watchErrors.length).toBe(2);
  });
});
