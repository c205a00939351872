import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import { NodeState, type PodIdentity } from "../node-state/node-state.ts";
import { BuiltinIpam } from "./ipam-builtin.ts";
import type { PodnetIpamConfig } from "./podnet-ipam-config.ts";

let root: string;
let dir: string;
const opened: NodeState[] = [];

function open(): NodeState {
  const state = NodeState.open(dir);
  opened.push(state);
  return state;
}

beforeEach(() => {
  root = mkdtempSync("/tmp/podnet-ipam-builtin-");
  dir = join(root, "state");
});

afterEach(() => {
  for (const state of opened.splice(0)) state.close();
  rmSync(root, { recursive: true, force: true });
});

const dual = buildRangeSets([[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]]);
const key = (containerId: string, ifname = "eth0", network = "podnet"): AttachmentKey => ({
  network,
  containerId,
  ifname,
});
const web: PodIdentity = { namespace: "shop", name: "web-1", labels: { app: "web", tier: "front" } };

describe("GC of pod rows (BuiltinIpam)", () => {
  const ipam = (containerId: string) => {
    const config: PodnetIpamConfig = { rangeSets: dual, routes: [], dataDir: dir };
    const b = new BuiltinIpam(config, key(containerId));
    return { b, [Symbol.dispose]: () => b.close() };
  };

  test("releases the rows of attachments not listed, also rows whose addresses are gone", () => {
    for (const c of ["keep", "drop", "addressless"]) {
      using i = ipam(c);
      i.b.add([], { ...web, name: c });
    }
    // A row whose allocations vanished (edited by hand, or a crash in an older podnet).
    const db = new Database(join(dir, "ipam.db"));
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
