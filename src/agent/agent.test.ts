import { describe, expect, test } from "bun:test";
import type { Logger } from "../daemon/log.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import type { Store } from "../store/store.ts";
import { Agent } from "./agent.ts";
import type { AgentOptions } from "./agent-options.ts";
import { DnsAddressInRangeError } from "./cluster-dns-options.ts";

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe("Agent", () => {
  test("refuses a node-local DNS address inside the cluster's ranges before it touches anything", () => {
    // The config as the datastore holds it, whatever this agent's flags said.
    const config = buildClusterConfig({ clusterCidrs: ["fd00::/48"], serviceCidrs: ["fd00:10:96::/112"] });
    const options = {
      nodeName: "node1",
      dns: { address: "fd00::10", upstreams: [] },
    } as unknown as AgentOptions;
    // The store is never used: the check comes first.
    const store = {} as Store;
    expect(() => new Agent(store, config, options, log)).toThrow(DnsAddressInRangeError);
    expect(() => new Agent(store, config, options, log)).toThrow(
      "Node-local DNS address fd00::10 lies in cluster CIDR fd00::/48: IPAM could give it to a pod",
    );
  });
});
