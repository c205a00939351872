import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import type { PodRecord, Service } from "../k8s/service-model.ts";
import { endpointsOf } from "../k8s/service-model.ts";
import { EndpointIndex } from "./endpoint-index.ts";

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
