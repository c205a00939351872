import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { useTempNodeState } from "../../test/support/temp-node-state.ts";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import type { PodIdentity } from "../node-state/node-state.ts";
import { BuiltinIpam } from "./ipam-builtin.ts";
import type { PodnetIpamConfig } from "./podnet-ipam-config.ts";

const t = useTempNodeState("podnet-ipam-builtin");
const open = (dataDir?: string) => t.open(dataDir);

const dual = buildRangeSets([[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]]);
const key = (containerId: string, ifname = "eth0", network = "podnet"): AttachmentKey => ({
  network,
  containerId,
  ifname,
});
const web: PodIdentity = { namespace: "shop", name: "web-1", labels: { app: "web", tier: "front" } };

describe("GC of pod rows (BuiltinIpam)", () => {
  const ipam = (containerId: string) => {
    const config: PodnetIpamConfig = { rangeSets: dual, routes: [], dataDir: t.dir };
    const b = new BuiltinIpam(config, key(containerId));
    return { b, [Symbol.dispose]: () => b.close() };
  };

  test("releases the rows of attachments not listed, also rows whose addresses are gone", () => {
    for (const c of ["keep", "drop", "addressless"]) {
      using i = ipam(c);
      i.b.add([], { ...web, name: c });
    }
    // A row whose allocations vanished (edited by hand, or a crash in an older podnet).
    const db = new Database(join(t.dir, "ipam.db"));
    db.run("DELETE FROM allocations WHERE container_id = 'addressless'");
    db.close();
    {
      using i = ipam("keep");
      i.b.gc([key("keep")]);
    }
    const state = open();
    expect(state.listPods("podnet").rows.map((r) => r.containerId)).toEqual(["keep"]);
    expect(state.list("podnet").map((a) => a.containerId)).toEqual(["keep", "keep"]);
  });
});
