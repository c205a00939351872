import { describe, expect, test } from "bun:test";
import { LAB_FACTS } from "../../diagnosis/fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "../../diagnosis/fixtures/lab-snapshot.ts";
import { buildClusterMap } from "../cluster-map.ts";
import { shownTime, statusLine } from "./status-line.ts";

const map = buildClusterMap(LAB_SNAPSHOT, LAB_FACTS, [], [], 7, LAB_NOW);
const prefix = `${map.store} · rev ${map.revision} · v7 · ${map.nodes.length} nodes`;
const stale = {
  since: "2026-12-06T13:50:01.123Z",
  reason: "reading the datastore failed: connection refused",
};

describe("statusLine", () => {
  test("live while the stream is open and the server reads its datastore", () => {
    const s = statusLine(map, { state: "open" });
    expect(s.text).toStartWith(prefix);
    expect(s.text).toEndWith(" · live");
    expect(s.stale).toBe(false);
    expect(statusLine(map, { state: "connecting" }).text).toEndWith(" · connecting…");
  });

  test("the server's stale map: since when and why, in the warning style, never live", () => {
    const s = statusLine({ ...map, stale }, { state: "open" });
    expect(s.text).toEndWith(
      " · stale since 2026-12-06 13:50:01 UTC: reading the datastore failed: connection refused",
    );
    expect(s.text).not.toContain("live");
    expect(s.stale).toBe(true);
  });

  test("the page's stream down: stale since it dropped, whatever the last map said", () => {
    for (const m of [map, { ...map, stale }]) {
      const s = statusLine(m, { state: "down", since: "2026-12-06T14:00:00.000Z" });
      expect(s.text).toEndWith(
        " · stale since 2026-12-06 14:00:00 UTC: the server's event stream is down (reconnecting…)",
      );
      expect(s.stale).toBe(true);
    }
  });

  test("a since that is no time is shown as it came", () => expect(shownTime("soon")).toBe("soon"));
});
