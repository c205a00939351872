import { describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { DIAGNOSIS_PREFIX, diagnosisKey } from "../cluster/diagnosis-protocol.ts";
import type { Store } from "../store/store.ts";
import { DiagnosisSession } from "./diagnosis-session.ts";

const store = useTempStores("podnet-diag-session");

const REQUEST = {
  kind: "facts" as const,
  requester: "test",
  nodes: ["node1"],
  addresses: [],
  routeLookups: [],
};

describe("DiagnosisSession.close", () => {
  test("every caller waits for the one revoke in flight (a signal during the final revoke)", async () => {
    const s = await store();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let revokes = 0;
    const slow: Store = Object.assign(Object.create(s) as Store, {
      revoke: async (id: string) => {
        revokes++;
        await gate;
        await s.revoke(id);
      },
    });
    const session = await DiagnosisSession.start(slow, REQUEST, { handleSignals: false });
    const first = session.close();
    let secondDone = false;
    const second = session.close().then(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The second close must not return while the first one's revoke is still running.
    expect(secondDone).toBe(false);
    release();
    await Promise.all([first, second]);
    expect(revokes).toBe(1);
    expect((await s.list(DIAGNOSIS_PREFIX)).kvs).toEqual([]);
  });

  test("the request goes under requests/, and the session sees answers under answers/", async () => {
    const s = await store();
    const session = await DiagnosisSession.start(s, REQUEST, { handleSignals: false });
    try {
      expect((await s.get(diagnosisKey(session.id, "request")))?.lease).toBe(session.lease);
      await s.put(
        diagnosisKey(session.id, "armed", "node1"),
        JSON.stringify({ node: "node1", table: `inet podnet-trace-${session.id}` }),
        {
          lease: session.lease ?? "",
        },
      );
      await s.put(diagnosisKey(session.id, "probe"), JSON.stringify({ outcome: "answered", ms: 3 }), {
        lease: session.lease ?? "",
      });
      expect(
        await session.until(
          () => session.armed.has("node1") && session.probe !== undefined,
          Date.now() + 3000,
        ),
      ).toBe(true);
    } finally {
      await session.close();
    }
  });
});
