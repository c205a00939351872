/**
 * Random Service changes for the proxy's property tests (pure, seeded): a cluster of Services
 * whose ClusterIPs, ports and NodePorts are drawn from small pools so that Services collide
 * (the same port on one ClusterIP, the same NodePort), and random steps that add, remove and
 * change Services (ports, target ports, protocols, endpoints, local/remote, affinity, invalid
 * addresses, headless, IPv6) and the node (its name, addresses, CIDRs, egress masquerade).
 */
import type { Endpoint, Protocol, Service, ServicePort } from "../k8s/service-model.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import type { NodeInput } from "./ruleset.ts";

const PROTOCOLS: readonly Protocol[] = ["TCP", "UDP", "SCTP"];
const PORTS = [53, 80, 443, 8080];

export class RandomCluster {
  readonly entries = new Map<string, ServiceEntry>();
  node: NodeInput;
  private serial = 0;

  constructor(
    private readonly random: () => number,
    /** How many distinct Service names there are (about half exist at any time). */
    private readonly names: number,
  ) {
    this.node = {
      family: "ip",
      nodeIPs: ["192.0.2.11"],
      podCidrs: ["10.244.0.0/16"],
      nonMasqueradeCidrs: ["10.244.0.0/16", "10.96.0.0/12"],
      masqueradeEgress: true,
      nodeName: "node1",
    };
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  /** ClusterIPs from a pool about the size of the names: some Services share one. */
  private clusterIPs(): string[] {
    const r = this.random();
    if (r < 0.02) return [];
    if (r < 0.03) return ["10.96.300.1"];
    if (r < 0.05) return [`fd00:10:96::${this.int(this.names).toString(16)}`];
    const v4 = `10.96.${this.int(4)}.${this.int(Math.max(1, this.names / 4))}`;
    return r < 0.08 ? [v4, `fd00:10:96::${this.int(200).toString(16)}`] : [v4];
  }

  private port(): ServicePort {
    const protocol = this.chance(0.8) ? "TCP" : this.pick(PROTOCOLS);
    const port = this.chance(0.01) ? 70000 : this.pick(PORTS);
    const base = { protocol, port, targetPort: this.chance(0.5) ? port : 8000 + this.int(3) };
    // NodePorts from a pool small enough that two Services sometimes ask for the same one.
    return this.chance(0.3) ? { ...base, nodePort: 30000 + this.int(Math.max(2, this.names / 2)) } : base;
  }

  private endpoint(): Endpoint {
    const serial = this.serial++;
    const ip = this.chance(0.01) ? "10.244.x.1" : `10.244.${this.int(4)}.${this.int(60)}`;
    return { ip, node: this.chance(0.5) ? "node1" : "node2", pod: `default/pod-${serial}` };
  }

  private service(name: string): Service {
    const ports = Array.from({ length: 1 + this.int(this.chance(0.8) ? 1 : 3) }, () => this.port());
    const clusterIPs = this.clusterIPs();
    return {
      namespace: "default",
      name,
      ...(clusterIPs.length === 0 ? { headless: true as const } : {}),
      clusterIPs,
      ports,
      sessionAffinity: this.chance(0.1)
        ? { kind: "ClientIP", timeoutSeconds: this.chance(0.05) ? 0 : 60 * (1 + this.int(3)) }
        : { kind: "None" },
      selector: { app: name },
    };
  }

  private endpoints(): Endpoint[] {
    const n = this.chance(0.1) ? 0 : 1 + this.int(5);
    return Array.from({ length: n }, () => this.endpoint());
  }

  /** One change to the Service called `name`: a new entry, or undefined when it goes. */
  private change(name: string): ServiceEntry | undefined {
    const key = `default/${name}`;
    const old = this.entries.get(key);
    if (old === undefined) return { service: this.service(name), endpoints: this.endpoints() };
    const s = old.service;
    const r = this.random();
    if (r < 0.1) return undefined;
    if (r < 0.45) {
      // Endpoints: one replaced, added or removed, all gone, or a local/remote flip.
      const eps = [...old.endpoints];
      const what = this.int(5);
      if (what === 0 && eps.length > 0) eps.splice(this.int(eps.length), 1, this.endpoint());
      else if (what === 1) eps.push(this.endpoint());
      else if (what === 2 && eps.length > 0) eps.splice(this.int(eps.length), 1);
      else if (what === 3) eps.length = 0;
      else if (eps.length > 0) {
        const i = this.int(eps.length);
        const e = eps[i] as Endpoint;
        eps[i] = { ...e, node: e.node === "node1" ? "node2" : "node1" };
      }
      return { service: s, endpoints: eps };
    }
    if (r < 0.7) {
      const ports = [...s.ports];
      const what = this.int(4);
      if (what === 0) ports.push(this.port());
      else if (what === 1 && ports.length > 1) ports.splice(this.int(ports.length), 1);
      else if (ports.length > 0) {
        const i = this.int(ports.length);
        const p = ports[i] as ServicePort;
        ports[i] = what === 2 ? { ...p, targetPort: 8000 + this.int(5) } : this.port();
      }
      return { service: { ...s, ports }, endpoints: old.endpoints };
    }
    if (r < 0.8) {
      const sessionAffinity =
        s.sessionAffinity.kind === "ClientIP" && this.chance(0.5)
          ? ({ kind: "None" } as const)
          : ({ kind: "ClientIP", timeoutSeconds: 30 * (1 + this.int(4)) } as const);
      return { service: { ...s, sessionAffinity }, endpoints: old.endpoints };
    }
    if (r < 0.9) {
      const clusterIPs = this.clusterIPs();
      const { headless: _, ...rest } = s;
      return {
        service: { ...rest, ...(clusterIPs.length === 0 ? { headless: true as const } : {}), clusterIPs },
        endpoints: old.endpoints,
      };
    }
    return { service: this.service(name), endpoints: this.endpoints() };
  }

  /**
   * One step: a burst of Service changes (1 to 100, mostly few) and now and then a change of
   * the node. Returns the changes as the proxy's view reports them (key → entry or undefined).
   */
  step(): Map<string, ServiceEntry | undefined> {
    const r = this.random();
    const burst = r < 0.7 ? 1 + this.int(3) : r < 0.95 ? 4 + this.int(17) : 21 + this.int(80);
    const changes = new Map<string, ServiceEntry | undefined>();
    for (let i = 0; i < burst; i++) {
      const name = `svc-${this.int(this.names)}`;
      const key = `default/${name}`;
      const next = this.change(name);
      if (next === undefined) this.entries.delete(key);
      else this.entries.set(key, next);
      changes.set(key, next);
    }
    if (this.chance(0.02)) this.changeNode();
    return changes;
  }

  private changeNode(): void {
    const n = this.node;
    const what = this.int(4);
    if (what === 0) this.node = { ...n, nodeName: n.nodeName === "node1" ? "node2" : "node1" };
    else if (what === 1)
      this.node = {
        ...n,
        nodeIPs: this.chance(0.5) ? ["192.0.2.11"] : ["192.0.2.11", `192.0.2.${20 + this.int(9)}`],
      };
    else if (what === 2)
      this.node = {
        ...n,
        nonMasqueradeCidrs: this.chance(0.5) ? ["10.244.0.0/16", "10.96.0.0/12"] : ["10.0.0.0/8", "bogus"],
      };
    else this.node = { ...n, masqueradeEgress: !n.masqueradeEgress };
  }

  /** The whole input, as renderRuleset takes it. */
  services(): ServiceEntry[] {
    return [...this.entries.values()];
  }
}
