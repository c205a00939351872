/**
 * Run by node-state.test.ts as a separate process: waits for a shared start time, allocates
 * one address for the given container and prints it as JSON on stdout.
 * argv: dataDir containerId startAtEpochMs
 */
import { buildRangeSets } from "../ipam/range-set.ts";
import { formatIP } from "../ipnet/address.ts";
import { NodeState } from "./node-state.ts";

const [dataDir, containerId, startAt] = process.argv.slice(2);
if (dataDir === undefined || containerId === undefined || startAt === undefined) {
  process.stderr.write("usage: node-state.concurrency-helper.ts DATA_DIR CONTAINER_ID START_AT_MS\n");
  process.exit(2);
}
const rangeSets = buildRangeSets([[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/120" }]]);
// Spin rather than sleep so every process hits open() within the same millisecond window.
while (Date.now() < Number(startAt)) {}
const state = NodeState.open(dataDir);
try {
  const { allocations } = state.allocate({ network: "race", containerId, ifname: "eth0" }, rangeSets, []);
  process.stdout.write(`${JSON.stringify(allocations.map((a) => formatIP(a.ip)))}\n`);
} finally {
  state.close();
}
