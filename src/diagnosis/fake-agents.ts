/**
 * Test double of the node agents' diagnosis side (the real one is the agent's): it watches
 * `/podnet/diagnosis/requests/` as an agent does, validates each request as an agent would, and answers facts, armed,
 * probe and observed with plausible records under the request's lease. Each node can be told to
 * misbehave, so the client's handling of silence and broken answers can be shown.
 */

import type {
  DiagnosisRequest,
  NodeFacts,
  NodeObservation,
  ProbeResult,
} from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_REQUESTS_PREFIX, diagnosisKey } from "../cluster/diagnosis-protocol.ts";
import { parseDiagnosisKey, parseDiagnosisRequest } from "../cluster/diagnosis-records.ts";
import type { Store, Watch, WatchEvent } from "../store/store.ts";

export type FakeBehaviour = "answer" | "silent" | "invalid-facts" | "arm-error" | "no-observation";

/**
 * A node's plausible facts; `dual` adds what a dual-stack node reports: an IPv6 node IP, block and
 * bridge address, and `ip6 podnet` next to `ip podnet`, its sets tagged as the agent tags them.
 */
export function fakeFacts(node: string, options: { dual?: boolean } = {}): NodeFacts {
  const dual = options.dual === true;
  return {
    node,
    collectedAt: new Date().toISOString(),
    agent: {
      backend: "auto",
      uplink: "eth0",
      nodeIPs: dual ? ["192.0.2.11", "2001:db8:1::11"] : ["192.0.2.11"],
      blocks: dual ? ["10.244.1.0/24", "fd00:10:244:1::/64"] : ["10.244.1.0/24"],
    },
    interfaces: [
      {
        name: "podnet0",
        index: 3,
        kind: "bridge",
        mac: "02:00:00:00:00:01",
        mtu: 1500,
        up: true,
        addresses: dual ? ["10.244.1.1/24", "fd00:10:244:1::1/64"] : ["10.244.1.1/24"],
      },
    ],
    routes: [
      { dst: "10.244.2.0/24", via: "192.0.2.12", dev: "eth0", proto: "200", onlink: false, type: "unicast" },
      ...(dual
        ? [
            {
              dst: "fd00:10:244:2::/64",
              via: "2001:db8:1::12",
              dev: "eth0",
              proto: "200",
              onlink: false,
              type: "unicast",
            },
          ]
        : []),
    ],
    neighbours: [],
    fdb: [],
    sysctls: dual
      ? { "net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1" }
      : { "net.ipv4.ip_forward": "1" },
    nft: dual
      ? {
          tables: ["ip podnet", "ip6 podnet"],
          sets: [
            { name: "cluster-ips", elements: [{ key: ["10.96.0.10"] }] },
            { name: "cluster-ips", family: "ip6", elements: [{ key: ["fd00:10:96::a"] }] },
          ],
          chains: [],
        }
      : { tables: ["ip podnet"], sets: [], chains: [] },
    pods: [],
    allocations: [],
    releases: [],
    conntrack: [],
    routeLookups: [],
    errors: [],
  };
}

export function fakeObservation(node: string): NodeObservation {
  return {
    node,
    events: [
      {
        atMs: 12,
        traceId: "de948fb7",
        family: "inet",
        table: "podnet-trace-x",
        chain: "pre",
        type: "packet",
        raw: 'trace id de948fb7 inet podnet-trace-x pre packet: iif "podnet0"',
      },
    ],
    conntrack: [
      {
        proto: "tcp",
        state: "ESTABLISHED",
        timeoutSeconds: 100,
        original: { src: "10.244.1.2", dst: "10.244.2.2", sport: 21000, dport: 8080 },
        reply: { src: "10.244.2.2", dst: "10.244.1.2", sport: 8080, dport: 21000 },
        flags: ["ASSURED"],
      },
    ],
    counters: [{ chain: "observe", name: "observe", packets: 1, bytes: 60 }],
    sysctls: { "net.ipv4.ip_forward": "1" },
    errors: [],
  };
}

export const FAKE_PROBE: ProbeResult = {
  outcome: "answered",
  ms: 3,
  localIp: "10.244.1.2",
  localPort: 21000,
};

export class FakeAgents {
  readonly requests: DiagnosisRequest[] = [];
  /** Parts the fake saw the requester put ("go", "probe"), in order, by request id. */
  readonly seen: string[] = [];
  private readonly watch: Watch;
  private readonly leases = new Map<string, string>();
  private readonly armed = new Map<string, string[]>();

  private constructor(
    private readonly store: Store,
    private readonly behaviour: ReadonlyMap<string, FakeBehaviour>,
    fromRevision: number,
  ) {
    this.watch = store.watch(DIAGNOSIS_REQUESTS_PREFIX, {
      fromRevision,
      onEvents: (events) => {
        for (const ev of events) void this.onEvent(ev);
      },
      onError: () => {},
    });
  }

  static async start(store: Store, behaviour: Record<string, FakeBehaviour>): Promise<FakeAgents> {
    const { revision } = await store.list(DIAGNOSIS_REQUESTS_PREFIX);
    return new FakeAgents(store, new Map(Object.entries(behaviour)), revision + 1);
  }

  close(): void {
    this.watch.close();
  }

  private async put(id: string, key: string, value: unknown): Promise<void> {
    const lease = this.leases.get(id);
    try {
      await this.store.put(
        key,
        typeof value === "string" ? value : JSON.stringify(value),
        lease ? { lease } : {},
      );
    } catch {
      // The request ended (lease revoked) while we answered: an agent gives up the same way.
    }
  }

  private answering(request: DiagnosisRequest): string[] {
    const nodes = request.nodes.length > 0 ? request.nodes : [...this.behaviour.keys()];
    return nodes.filter((n) => (this.behaviour.get(n) ?? "silent") !== "silent");
  }

  private async onEvent(ev: WatchEvent): Promise<void> {
    if (ev.type !== "put") return;
    const named = parseDiagnosisKey(ev.kv.key);
    if (!named) return;
    const { id } = named;
    switch (named.part) {
      case "request": {
        const request = parseDiagnosisRequest(ev.kv.key, ev.kv.value);
        this.requests.push(request);
        if (ev.kv.lease) this.leases.set(id, ev.kv.lease);
        const armed: string[] = [];
        for (const node of this.answering(request)) {
          const b = this.behaviour.get(node);
          await this.put(
            id,
            diagnosisKey(id, "facts", node),
            b === "invalid-facts" ? { node } : fakeFacts(node),
          );
          if (request.kind !== "trace") continue;
          const table = `inet podnet-trace-${id}`;
          if (b === "arm-error")
            await this.put(id, diagnosisKey(id, "armed", node), {
              node,
              table,
              error: "nft: Operation not permitted",
            });
          else {
            await this.put(id, diagnosisKey(id, "armed", node), { node, table });
            armed.push(node);
          }
        }
        this.armed.set(id, armed);
        return;
      }
      case "go": {
        this.seen.push("go");
        const request = this.requests.find((r) => r.id === id);
        const source = request?.trace?.source;
        if (source && source.kind !== "external" && this.armed.get(id)?.includes(source.node))
          await this.put(id, diagnosisKey(id, "probe"), FAKE_PROBE);
        return;
      }
      case "probe":
        this.seen.push("probe");
        for (const node of this.armed.get(id) ?? [])
          if (this.behaviour.get(node) !== "no-observation")
            await this.put(id, diagnosisKey(id, "observed", node), fakeObservation(node));
        return;
      default:
        return;
    }
  }
}
