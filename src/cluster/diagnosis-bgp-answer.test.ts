import { describe, expect, test } from "bun:test";
import { establishedNodeSessionFact } from "../../test/support/bgp-session-fixtures.ts";
import { parseNodeFacts } from "./diagnosis-answers.ts";
import type { NodeBgpFact, NodeFacts } from "./diagnosis-protocol.ts";
import { diagnosisKey } from "./diagnosis-protocol.ts";

const KEY = diagnosisKey("abcdefgh12", "facts", "node1");

const BGP: NodeBgpFact = {
  enabled: true,
  running: true,
  routerId: "192.0.2.11",
  announced: ["10.244.1.0/24"],
  sessions: [establishedNodeSessionFact()],
  controlSocket: "/var/lib/podnet/bgp/bird.ctl",
};

const FACTS: NodeFacts = {
  node: "node1",
  collectedAt: "2026-12-06T10:00:01.000Z",
  agent: { backend: "bgp", uplink: "eth0", nodeIPs: ["192.0.2.11"], blocks: ["10.244.1.0/24"] },
  interfaces: [],
  routes: [
    { dst: "10.244.2.0/24", via: "192.0.2.12", dev: "eth0", proto: "bird", onlink: false, type: "unicast" },
  ],
  neighbours: [],
  fdb: [],
  sysctls: {},
  nft: { tables: [], sets: [], chains: [] },
  pods: [],
  allocations: [],
  releases: [],
  conntrack: [],
  routeLookups: [],
  bgp: BGP,
  errors: [],
};

const parse = (bgp: unknown) => parseNodeFacts(KEY, JSON.stringify({ ...FACTS, bgp }));

describe("the BGP part of a node's facts", () => {
  test("accepted as reported; absent (an agent before bgp) is still valid", () => {
    expect(parseNodeFacts(KEY, JSON.stringify(FACTS))).toEqual(FACTS);
    const { bgp: _, ...old } = FACTS;
    expect(parseNodeFacts(KEY, JSON.stringify(old))).toEqual(old);
  });

  test("refused with the field when a value could mislead or reach a command line", () => {
    expect(() => parse({ ...BGP, running: "yes" })).toThrow(/bgp.running must be true or false/);
    expect(() => parse({ ...BGP, announced: ["10.244.1.0"] })).toThrow(
      /bgp.announced\[0\] must be an address with its prefix length/,
    );
    expect(() => parse({ ...BGP, announced: Array(4097).fill("10.244.1.0/24") })).toThrow(/bgp.announced/);
    expect(parse({ ...BGP, announced: Array(4096).fill("10.244.1.0/24") }).bgp?.announced.length).toBe(4096);
    expect(() => parse({ ...BGP, controlSocket: "/x; rm -rf /" })).toThrow(
      /bgp.controlSocket must be an absolute path/,
    );
    expect(() => parse({ ...BGP, controlSocket: "/run/../etc/bird.ctl" })).toThrow(/must not contain "\.\."/);
    const session = BGP.sessions[0];
    expect(() => parse({ ...BGP, sessions: [{ ...session, peer: "Router;" }] })).toThrow(
      /bgp.sessions\[0\].peer must be a BGP peer name/,
    );
    expect(() => parse({ ...BGP, sessions: [{ ...session, protocol: "a b" }] })).toThrow(
      /bgp.sessions\[0\].protocol must be a BIRD protocol name/,
    );
    expect(() => parse({ ...BGP, sessions: [{ ...session, as: 0 }] })).toThrow(
      /bgp.sessions\[0\].as must be an integer/,
    );
    expect(() => parse({ ...BGP, sessions: [{ ...session, received: -1 }] })).toThrow(
      /received must be an integer/,
    );
    expect(() => parse({ ...BGP, sessions: [{ ...session, lastError: "a\u001b[2Jb" }] })).toThrow(
      /control character/,
    );
    expect(() => parse({ ...BGP, routerId: "node1" })).toThrow(/bgp.routerId must be an IP address/);
  });
});
