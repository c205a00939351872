import { describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { pollUntil } from "../base/poll-until.ts";
import type { BgpPeer } from "./bgp-config.ts";
import { BgpConfigError, DEFAULT_BGP_CONFIG } from "./bgp-config.ts";
import { addBgpPeer, BgpPeerExistsError } from "./bgp-config-edit.ts";
import type { BgpConfigEvent } from "./bgp-config-store.ts";
import {
  deleteBgpConfig,
  readBgpConfig,
  readBgpConfigAt,
  updateBgpConfig,
  watchBgpConfig,
  writeBgpConfig,
} from "./bgp-config-store.ts";
import { BGP_KEY } from "./keys.ts";

const store = useTempStores("podnet-bgp");

function peer(n: number): BgpPeer {
  return { name: `rr${n}`, address: `203.0.113.${n}`, asNumber: 64512, selector: { cidr: "0.0.0.0/0" } };
}

describe("BGP config in the datastore", () => {
  test("no record reads as not configured, a written config reads back", async () => {
    const s = await store();
    expect((await readBgpConfigAt(s)).config).toBeUndefined();
    expect(await readBgpConfig(s)).toBeUndefined();
    const config = { ...DEFAULT_BGP_CONFIG, holdTimeSeconds: 9, keepaliveSeconds: 3, peers: [peer(1)] };
    expect(await writeBgpConfig(s, config)).toEqual(config);
    expect(await readBgpConfig(s)).toEqual(config);
    expect(await deleteBgpConfig(s)).toBe(true);
    expect(await readBgpConfig(s)).toBeUndefined();
  });

  test("concurrent edits all land (compare-and-swap, retried)", async () => {
    const s = await store();
    await Promise.all([1, 2, 3, 4, 5].map((n) => updateBgpConfig(s, (c) => addBgpPeer(c, peer(n)))));
    const names = (await readBgpConfig(s))?.peers.map((p) => p.name).sort();
    expect(names).toEqual(["rr1", "rr2", "rr3", "rr4", "rr5"]);
  });

  test("a refused edit or an invalid config writes nothing", async () => {
    const s = await store();
    await updateBgpConfig(s, (c) => addBgpPeer(c, peer(1)));
    const before = await s.get(BGP_KEY);
    await expect(updateBgpConfig(s, (c) => addBgpPeer(c, peer(1)))).rejects.toThrow(BgpPeerExistsError);
    await expect(writeBgpConfig(s, { ...DEFAULT_BGP_CONFIG, asNumber: 0 })).rejects.toThrow(BgpConfigError);
    expect((await s.get(BGP_KEY))?.modRevision).toBe(before?.modRevision);
  });

  test("a record that does not validate is reported with its field and key", async () => {
    const s = await store();
    await s.put(BGP_KEY, JSON.stringify({ version: 1, holdTimeSeconds: 1 }));
    await expect(readBgpConfig(s)).rejects.toThrow(
      /holdTimeSeconds is 1; must be a whole number from 3 to 65535 \(stored at \/podnet\/bgp in sqlite:/,
    );
  });

  test("the watch delivers changes of the record only, decoded", async () => {
    const s = await store();
    const { revision } = await readBgpConfigAt(s);
    const events: BgpConfigEvent[] = [];
    const errors: Error[] = [];
    const watch = watchBgpConfig(
      s,
      revision + 1,
      (e) => events.push(...e),
      (e) => errors.push(e),
    );
    try {
      await writeBgpConfig(s, { ...DEFAULT_BGP_CONFIG, peers: [peer(7)] });
      await s.put(`${BGP_KEY}-status/node1`, "{}");
      await s.put(BGP_KEY, '{"asNumber": -1}');
      await s.delete(BGP_KEY);
      await pollUntil("three BGP config events", () => events.length >= 3, 5000, { intervalMs: 10 });
      expect(events.map((e) => e.type)).toEqual(["put", "invalid", "delete"]);
      expect(events[0]?.type === "put" && events[0].config.peers).toEqual([peer(7)]);
      expect(events[1]?.type === "invalid" && events[1].reason).toContain("asNumber is -1");
      expect(errors).toEqual([]);
    } finally {
      watch.close();
    }
  });
});
