import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import type { Endpoint, PodRecord, Service } from "../k8s/service-model.ts";
import { endpointsOf, serviceKey } from "../k8s/service-model.ts";
import { EndpointIndex, type ServiceEntry } from "./endpoint-index.ts";

const svc = (ns: string, name: string, selector: Record<string, string>): Service => ({
  namespace: ns,
  name,
  clusterIPs: ["10.96.0.10"],
  ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
  sessionAffinity: { kind: "None" },
  selector,
});
const pod = (
  node: string,
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
): PodRecord => ({
  node,
  namespace: ns,
  name,
  ips: [ip],
  labels,
});

describe("EndpointIndex", () => {
  test("endpoints follow selectors, namespaces and pod changes", () => {
    const index = new EndpointIndex();
    index.reset([svc("a", "web", { app: "web" }), svc("b", "web", { app: "web" })], []);
    index.putPod(pod("n1", "a", "p1", "10.244.1.2", { app: "web" }));
    index.putPod(pod("n2", "b", "p2", "10.244.2.2", { app: "web" }));
    index.putPod(pod("n2", "a", "p3", "10.244.2.3", { app: "db" }));
    const ips = () => index.entries().map((e) => [e.service.namespace, e.endpoints.map((x) => x.ip)]);
    expect(ips()).toEqual([
      ["a", ["10.244.1.2"]],
      ["b", ["10.244.2.2"]],
    ]);
    // Relabelled into the selector, then out of it; deleted.
    index.putPod(pod("n2", "a", "p3", "10.244.2.3", { app: "web" }));
    expect(ips()[0]).toEqual(["a", ["10.244.1.2", "10.244.2.3"]]);
    index.putPod(pod("n1", "a", "p1", "10.244.1.2", { app: "other" }));
    expect(ips()[0]).toEqual(["a", ["10.244.2.3"]]);
    index.deletePod({ node: "n2", namespace: "a", name: "p3" });
    expect(ips()[0]).toEqual(["a", []]);
    index.deleteService("b", "web");
    expect(index.counts).toEqual({ services: 1, pods: 2 });
  });

  test("a pod turning unready changes its Service's entry and no other; ready again, it is back", () => {
    const index = new EndpointIndex();
    index.reset(
      [svc("a", "web", { app: "web" }), svc("a", "db", { app: "db" }), svc("b", "web", { app: "web" })],
      [
        pod("n1", "a", "p1", "10.244.1.2", { app: "web" }),
        pod("n2", "a", "p2", "10.244.2.2", { app: "web" }),
        pod("n1", "a", "p3", "10.244.1.3", { app: "db" }),
        pod("n2", "b", "p4", "10.244.2.4", { app: "web" }),
      ],
    );
    const before = index.entries();
    index.putPod({ ...pod("n1", "a", "p1", "10.244.1.2", { app: "web" }), ready: false });
    const after = index.entries();
    const changed = after
      .filter((e, i) => e !== before[i])
      .map((e) => `${e.service.namespace}/${e.service.name}`);
    expect(changed).toEqual(["a/web"]);
    expect(after.find((e) => e.service.namespace === "a" && e.service.name === "web")?.endpoints).toEqual([
      { ip: "10.244.2.2", node: "n2", pod: "a/p2" },
    ]);
    // The last ready pod goes: the Service has no endpoints (the proxy rejects its ClusterIP).
    index.putPod({ ...pod("n2", "a", "p2", "10.244.2.2", { app: "web" }), ready: false });
    expect(index.entries()[1]?.endpoints).toEqual([]);
    expect(index.counts).toEqual({ services: 3, pods: 4 });
    index.putPod(pod("n1", "a", "p1", "10.244.1.2", { app: "web" }));
    expect(index.entries()[1]?.endpoints.map((e) => e.pod)).toEqual(["a/p1"]);
  });

  test("incremental updates equal a recomputation from scratch (seeded random events)", () => {
    const random = mulberry32(4242);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
    const index = new EndpointIndex();
    const services = new Map<string, Service>();
    const pods = new Map<string, PodRecord>();
    for (let step = 0; step < 2000; step++) {
      const ns = pick(["a", "b"]);
      const r = random();
      if (r < 0.2) {
        const s = svc(ns, pick(["s1", "s2", "s3"]), { app: pick(["x", "y"]) });
        services.set(`${ns}/${s.name}`, s);
        index.putService(s);
      } else if (r < 0.27) {
        const name = pick(["s1", "s2", "s3"]);
        services.delete(`${ns}/${name}`);
        index.deleteService(ns, name);
      } else if (r < 0.85) {
        const p = pod(
          pick(["n1", "n2"]),
          ns,
          pick(["p1", "p2", "p3", "p4"]),
          `10.244.0.${1 + Math.floor(random() * 9)}`,
          {
            app: pick(["x", "y", "z"]),
          },
        );
        const withReadiness = random() < 0.3 ? { ...p, ready: random() < 0.5 } : p;
        pods.set(`${p.node}/${ns}/${p.name}`, withReadiness);
        index.putPod(withReadiness);
      } else {
        const ref = { node: pick(["n1", "n2"]), namespace: ns, name: pick(["p1", "p2", "p3", "p4"]) };
        pods.delete(`${ref.node}/${ns}/${ref.name}`);
        index.deletePod(ref);
      }
      for (const entry of index.entries()) {
        const expected = endpointsOf(entry.service, [...pods.values()])
          .map((e) => `${e.pod}@${e.ip}`)
          .sort();
        expect(entry.endpoints.map((e) => `${e.pod}@${e.ip}`).sort()).toEqual(expected);
      }
      expect(index.entries().length).toBe(services.size);
    }
  });

  test("it names the Services whose entry changed, reads one by key, and keeps entries() sorted across changes", () => {
    const index = new EndpointIndex();
    index.reset(
      [svc("a", "web", { app: "web" }), svc("a", "db", { app: "db" }), svc("b", "web", { app: "web" })],
      [],
    );
    expect(index.takeChanged()).toEqual(new Set());
    index.putPod(pod("n1", "a", "p1", "10.244.1.2", { app: "web" }));
    expect(index.takeChanged()).toEqual(new Set(["a/web"]));
    expect(index.takeChanged()).toEqual(new Set());
    expect(index.entry("a/web")?.endpoints.map((e) => e.ip)).toEqual(["10.244.1.2"]);
    expect([index.entry("a/nope"), index.entry("nonsense")]).toEqual([undefined, undefined]);
    const before = index.entries();
    before.pop(); // a copy: the caller may change it
    expect(index.entries().map((e) => `${e.service.namespace}/${e.service.name}`)).toEqual([
      "a/db",
      "a/web",
      "b/web",
    ]);
    index.putService(svc("a", "api", { app: "api" }));
    index.deleteService("b", "web");
    index.deleteService("b", "nope");
    expect(index.takeChanged()).toEqual(new Set(["a/api", "b/web"]));
    expect(index.entry("b/web")).toBeUndefined();
    expect(index.entries().map((e) => `${e.service.namespace}/${e.service.name}`)).toEqual([
      "a/api",
      "a/db",
      "a/web",
    ]);
  });
});

/** The definition: a Service's endpoints are endpointsOf over all pods of its namespace, in this order. */
function definition(service: Service, pods: Iterable<PodRecord>): Endpoint[] {
  const ofNamespace = [...pods].filter((p) => p.namespace === service.namespace);
  return endpointsOf(service, ofNamespace).sort((a, b) =>
    a.pod !== b.pod
      ? a.pod < b.pod
        ? -1
        : 1
      : a.ip !== b.ip
        ? a.ip < b.ip
          ? -1
          : 1
        : a.node < b.node
          ? -1
          : 1,
  );
}

describe("EndpointIndex against its definition", () => {
  const selectors: Record<string, string>[] = [
    { app: "x" },
    { app: "y" },
    { app: "x", tier: "web" },
    { tier: "web" },
    { tier: "db", app: "y" },
    {},
  ];
  const labelSets: Record<string, string>[] = [
    { app: "x" },
    { app: "x", tier: "web" },
    { app: "y", tier: "db" },
    { app: "y", tier: "web", extra: "1" },
    { tier: "web" },
    { app: "z" },
    {},
  ];

  for (const seed of [1, 2, 3, 4]) {
    test(`after each random event every entry equals the definition and takeChanged names exactly the changed Services (seed ${seed})`, () => {
      const random = mulberry32(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
      const index = new EndpointIndex();
      const services = new Map<string, Service>();
      const pods = new Map<string, PodRecord>();
      // What a follower last saw of each Service: its entry object and its content.
      let seen = new Map<string, { entry: ServiceEntry; text: string }>();
      const text = (service: Service, endpoints: readonly Endpoint[]) => JSON.stringify([service, endpoints]);
      let replacedUnchanged = 0;
      let kept = 0;
      for (let step = 0; step < 1500; step++) {
        const ns = pick(["a", "b", "c"]);
        const r = random();
        if (r < 0.12) {
          const s = {
            ...svc(ns, pick(["s1", "s2", "s3", "s4"]), pick(selectors)),
            clusterIPs: [pick(["10.96.0.1", "10.96.0.2"])],
          };
          services.set(`${ns}/${s.name}`, s);
          index.putService(s);
        } else if (r < 0.17) {
          const name = pick(["s1", "s2", "s3", "s4"]);
          services.delete(`${ns}/${name}`);
          index.deleteService(ns, name);
        } else if (r < 0.85) {
          // A pod moving in or out of selectors, flipping readiness, changing or adding IPs.
          const ips =
            random() < 0.15
              ? [`10.244.0.${1 + Math.floor(random() * 4)}`, "fd00::1"]
              : [`10.244.0.${1 + Math.floor(random() * 4)}`];
          const p: PodRecord = {
            ...pod(pick(["n1", "n2"]), ns, pick(["p1", "p2", "p3", "p4", "p5"]), "", pick(labelSets)),
            ips,
            ...(random() < 0.4 ? { ready: random() < 0.5 } : {}),
          };
          pods.set(`${p.node}/${ns}/${p.name}`, p);
          index.putPod(p);
        } else if (r < 0.98) {
          const ref = { node: pick(["n1", "n2"]), namespace: ns, name: pick(["p1", "p2", "p3", "p4", "p5"]) };
          pods.delete(`${ref.node}/${ns}/${ref.name}`);
          index.deletePod(ref);
        } else {
          index.reset([...services.values()], [...pods.values()]);
          expect(index.takeChanged()).toEqual(new Set());
          seen = new Map(
            index
              .entries()
              .map((e) => [serviceKey(e.service), { entry: e, text: text(e.service, e.endpoints) }]),
          );
          continue;
        }
        const entries = index.entries();
        expect(entries.map((e) => serviceKey(e.service))).toEqual([...services.keys()].sort());
        const now = new Map<string, { entry: ServiceEntry; text: string }>();
        for (const entry of entries) {
          const key = serviceKey(entry.service);
          // A re-put of an equal Service keeps the record it replaces.
          expect(entry.service).toEqual(services.get(key) as Service);
          expect(entry.endpoints).toEqual(definition(entry.service, pods.values()));
          expect(index.entry(key)).toBe(entry);
          now.set(key, { entry, text: text(entry.service, entry.endpoints) });
        }
        const expected = new Set<string>();
        for (const key of new Set([...seen.keys(), ...now.keys()])) {
          const before = seen.get(key);
          const after = now.get(key);
          if (before?.text !== after?.text) expected.add(key);
          // An unchanged Service keeps its entry object; a changed one gets a new one.
          if (before !== undefined && after !== undefined) {
            if (before.text === after.text) {
              if (before.entry !== after.entry) replacedUnchanged++;
              else kept++;
            } else expect(after.entry).not.toBe(before.entry);
          }
        }
        expect(index.takeChanged()).toEqual(expected);
        seen = now;
      }
      expect(replacedUnchanged).toBe(0);
      expect(kept).toBeGreaterThan(100);
      expect(index.counts).toEqual({ services: services.size, pods: pods.size });
    });
  }

  test("a pod event that leaves a Service's endpoints as they were keeps its entry (a behaviour change)", () => {
    const index = new EndpointIndex();
    index.reset(
      [svc("a", "web", { app: "web" })],
      [
        pod("n1", "a", "p1", "10.244.1.2", { app: "web" }),
        pod("n1", "a", "p2", "10.244.1.3", { app: "web" }),
      ],
    );
    const entry = index.entry("a/web");
    // Re-put unchanged, a label the selector ignores, an unready pod changing its IP, an equal Service.
    index.putPod(pod("n1", "a", "p1", "10.244.1.2", { app: "web" }));
    index.putPod(pod("n1", "a", "p1", "10.244.1.2", { app: "web", version: "2" }));
    index.putPod({ ...pod("n1", "a", "p2", "10.244.1.3", { app: "web" }), ready: false });
    expect(index.takeChanged()).toEqual(new Set(["a/web"]));
    const unready = index.entry("a/web");
    expect(unready).not.toBe(entry);
    index.putPod({ ...pod("n1", "a", "p2", "10.244.1.9", { app: "web" }), ready: false });
    index.putService(svc("a", "web", { app: "web" }));
    expect(index.takeChanged()).toEqual(new Set());
    expect(index.entry("a/web")).toBe(unready as ServiceEntry);
    expect(unready?.endpoints).toEqual([{ ip: "10.244.1.2", node: "n1", pod: "a/p1" }]);
  });

  test("records of one pod on two nodes with one IP are ordered by node, whatever the order of events", () => {
    const orders = [
      ["n2", "n1"],
      ["n1", "n2"],
    ].map((nodes) => {
      const index = new EndpointIndex();
      index.putService(svc("a", "web", { app: "web" }));
      for (const node of nodes) index.putPod(pod(node, "a", "p1", "10.244.1.2", { app: "web" }));
      return index.entry("a/web")?.endpoints.map((e) => e.node);
    });
    expect(orders).toEqual([
      ["n1", "n2"],
      ["n1", "n2"],
    ]);
  });

  test("a Service with an empty selector selects nothing; a namespace left empty is forgotten", () => {
    const index = new EndpointIndex();
    index.putPod(pod("n1", "a", "p1", "10.244.1.2", { app: "web" }));
    index.putService(svc("a", "all", {}));
    expect(index.entry("a/all")?.endpoints).toEqual([]);
    index.putService(svc("a", "all", { app: "web" }));
    expect(index.entry("a/all")?.endpoints.map((e) => e.ip)).toEqual(["10.244.1.2"]);
    index.deleteService("a", "all");
    index.deletePod({ node: "n1", namespace: "a", name: "p1" });
    expect(index.counts).toEqual({ services: 0, pods: 0 });
    expect(index.entries()).toEqual([]);
  });
});
