import { describe, expect, test } from "bun:test";
import { serviceHoldings as expected, holdings } from "../../test/support/service-holdings.ts";
import { useTempStores } from "../../test/support/temp-store.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { pollUntil } from "../base/poll-until.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { ServiceIPUnavailableError } from "../ipam/cluster-errors.ts";
import { parseIP } from "../ipnet/address.ts";
import type { Service } from "../k8s/service-model.ts";
import { NODE_PORT_MAX, NODE_PORT_MIN } from "../k8s/service-model.ts";
import {
  NodePortUnavailableError,
  ServiceExistsError,
  ServiceNotFoundError,
  ServiceValidationError,
} from "./service-errors.ts";
import { serviceIPKey } from "./service-ips.ts";
import { nodePortKey } from "./service-node-ports.ts";
import { serviceRecordKey } from "./service-record.ts";
import type { ServiceEvent } from "./service-store.ts";
import { createService, deleteService, getService, listServices, watchServices } from "./service-store.ts";

const v4 = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const dual = buildClusterConfig({
  clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
  serviceCidrs: ["10.96.0.0/24", "fd00:10:96::/112"],
});
const store = useTempStores("podnet-svc");

describe("createService / deleteService", () => {
  test("round trip: the Service is stored with defaults, and delete releases its ClusterIP and NodePorts", async () => {
    const s = await store();
    const svc = await createService(s, v4, {
      namespace: "default",
      name: "web",
      ports: [
        { name: "http", port: 80, targetPort: 8080, nodePort: 30080 },
        { name: "dns", port: 53, protocol: "UDP", nodePort: "auto" },
      ],
      selector: { app: "web" },
      sessionAffinity: { kind: "ClientIP" },
    });
    expect(svc.clusterIPs).toHaveLength(1);
    expect(svc.ports[0]).toEqual({
      name: "http",
      protocol: "TCP",
      port: 80,
      targetPort: 8080,
      nodePort: 30080,
    });
    expect(svc.ports[1]?.targetPort).toBe(53);
    const auto = svc.ports[1]?.nodePort ?? 0;
    expect(auto).toBeGreaterThanOrEqual(NODE_PORT_MIN);
    expect(auto).toBeLessThanOrEqual(NODE_PORT_MAX);
    expect(svc.sessionAffinity).toEqual({ kind: "ClientIP", timeoutSeconds: 10800 });
    expect(await getService(s, "default", "web")).toEqual(svc);
    expect(await holdings(s)).toEqual(expected([svc]));

    const deleted = await deleteService(s, "default", "web");
    expect(deleted.service).toEqual(svc);
    expect(deleted.released).toHaveLength(3);
    expect(await holdings(s)).toEqual([]);
    expect(await getService(s, "default", "web")).toBeUndefined();
    await expect(deleteService(s, "default", "web")).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  test("a NodePort held by another Service is refused, naming the holder; the same port of another protocol is not", async () => {
    const s = await store();
    await createService(s, v4, { namespace: "a", name: "one", ports: [{ port: 80, nodePort: 30100 }] });
    const attempt = createService(s, v4, {
      namespace: "b",
      name: "two",
      ports: [{ port: 81, nodePort: 30100 }],
    });
    await expect(attempt).rejects.toBeInstanceOf(NodePortUnavailableError);
    await expect(attempt).rejects.toThrow('NodePort 30100/TCP: already allocated to Service "a/one"');
    expect(await getService(s, "b", "two")).toBeUndefined();
    const udp = await createService(s, v4, {
      namespace: "b",
      name: "two",
      ports: [{ port: 81, protocol: "UDP", nodePort: 30100 }],
    });
    expect(udp.ports[0]?.nodePort).toBe(30100);
  });

  test("a requested ClusterIP in use is refused and nothing is left behind", async () => {
    const s = await store();
    const first = await createService(s, v4, {
      namespace: "kube-system",
      name: "dns",
      ports: [{ port: 53, protocol: "UDP" }],
      clusterIPs: ["10.96.0.10"],
    });
    const attempt = createService(s, v4, {
      namespace: "default",
      name: "other",
      ports: [{ port: 53, nodePort: 30053 }],
      clusterIPs: ["10.96.0.10"],
    });
    await expect(attempt).rejects.toBeInstanceOf(ServiceIPUnavailableError);
    expect(await holdings(s)).toEqual(expected([first]));
  });

  test("a failure in the middle releases the ClusterIP and the NodePorts already claimed", async () => {
    const s = await store();
    const blocker = await createService(s, v4, {
      namespace: "x",
      name: "blocker",
      ports: [{ port: 1, nodePort: 30002 }],
    });
    const attempt = createService(s, dual, {
      namespace: "default",
      name: "half",
      ports: [
        { name: "a", port: 80, nodePort: 30001 },
        { name: "b", port: 81, nodePort: 30002 },
        { name: "c", port: 82, nodePort: "auto" },
      ],
    });
    await expect(attempt).rejects.toThrow("NodePort 30002/TCP");
    expect(await holdings(s)).toEqual(expected([blocker]));
    expect(await getService(s, "default", "half")).toBeUndefined();
    // Everything it had claimed is free again.
    const retry = await createService(s, dual, {
      namespace: "default",
      name: "half",
      ports: [{ port: 80, nodePort: 30001 }],
    });
    expect(retry.ports[0]?.nodePort).toBe(30001);
  });

  test("creating an existing Service is refused and takes nothing", async () => {
    const s = await store();
    const svc = await createService(s, v4, { namespace: "default", name: "web", ports: [{ port: 80 }] });
    await expect(
      createService(s, v4, { namespace: "default", name: "web", ports: [{ port: 80, nodePort: "auto" }] }),
    ).rejects.toBeInstanceOf(ServiceExistsError);
    expect(await holdings(s)).toEqual(expected([svc]));
  });

  test("concurrent creates of the same name: one wins, the loser leaves nothing", async () => {
    const s = await store();
    const input = { namespace: "default", name: "race", ports: [{ port: 80, nodePort: "auto" as const }] };
    const results = await Promise.allSettled([createService(s, v4, input), createService(s, v4, input)]);
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected");
    expect(lost?.status === "rejected" && lost.reason).toBeInstanceOf(ServiceExistsError);
    expect(await holdings(s)).toEqual(expected(won));
  });

  test("bad input is refused before anything is allocated, naming the field", async () => {
    const s = await store();
    const cases: [Parameters<typeof createService>[2], string][] = [
      [{ namespace: "Default", name: "web", ports: [{ port: 80 }] }, "namespace"],
      [{ namespace: "default", name: "9web", ports: [{ port: 80 }] }, "name"],
      [{ namespace: "default", name: "web", ports: [] }, "ports"],
      [{ namespace: "default", name: "web", ports: [{ port: 80, nodePort: 40000 }] }, "ports[0].nodePort"],
      [
        { namespace: "default", name: "web", ports: [{ port: 80 }], clusterIPs: ["10.97.0.1"] },
        "clusterIPs[0]",
      ],
      [
        {
          namespace: "default",
          name: "web",
          ports: [
            { port: 80, nodePort: 30000 },
            { port: 81, nodePort: 30000 },
          ],
        },
        "ports[1].nodePort",
      ],
    ];
    for (const [input, field] of cases) {
      const error = await createService(s, v4, input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceValidationError);
      expect((error as ServiceValidationError).field).toBe(field);
    }
    expect(await holdings(s)).toEqual([]);
  });

  test("delete still removes the record when a holding was already released by someone else", async () => {
    const s = await store();
    const svc = await createService(s, v4, {
      namespace: "default",
      name: "web",
      ports: [{ port: 80, nodePort: 30500 }],
    });
    await s.delete(serviceIPKey(parseIP(svc.clusterIPs[0] ?? "")));
    const deleted = await deleteService(s, "default", "web");
    expect(deleted.released).toEqual([{ kind: "nodePort", protocol: "TCP", port: 30500 }]);
    expect(await holdings(s)).toEqual([]);
  });

  test("an unreadable record is deleted with whatever its Service holds", async () => {
    const s = await store();
    const svc = await createService(s, v4, {
      namespace: "default",
      name: "web",
      ports: [{ port: 80, nodePort: 30600 }],
    });
    await s.put(serviceRecordKey("default", "web"), "{broken");
    expect((await listServices(s)).invalid).toHaveLength(1);
    const deleted = await deleteService(s, "default", "web");
    expect(deleted.service).toBeUndefined();
    expect(deleted.released).toHaveLength(2);
    expect(await holdings(s)).toEqual([]);
    expect(await s.get(nodePortKey("TCP", 30600))).toBeUndefined();
    expect(svc.clusterIPs).toHaveLength(1);
  });

  test("property: after any sequence of creates and deletes, the store holds exactly what live Services hold", async () => {
    const s = await store();
    const random = mulberry32(4242);
    const live = new Map<string, Service>();
    for (let step = 0; step < 60; step++) {
      const name = `svc-${Math.floor(random() * 8)}`;
      if (live.has(name) && random() < 0.5) {
        await deleteService(s, "default", name);
        live.delete(name);
        continue;
      }
      const ports = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
        port: 80 + i,
        protocol: random() < 0.5 ? ("TCP" as const) : ("UDP" as const),
        // A small fixed pool makes NodePort conflicts (and rollbacks) frequent.
        ...(random() < 0.6
          ? { nodePort: random() < 0.5 ? ("auto" as const) : 30000 + Math.floor(random() * 4) }
          : {}),
      }));
      try {
        live.set(name, await createService(s, v4, { namespace: "default", name, ports }));
      } catch (e) {
        if (
          !(e instanceof NodePortUnavailableError) &&
          !(e instanceof ServiceExistsError) &&
          !(e instanceof ServiceValidationError)
        )
          throw e;
      }
      expect(await holdings(s)).toEqual(expected([...live.values()]));
    }
    expect((await listServices(s)).services.map((x) => x.name)).toEqual([...live.keys()].sort());
  });
});

describe("watchServices", () => {
  test("delivers decoded puts and deletes from the list's revision on", async () => {
    const s = await store();
    const { revision } = await listServices(s);
    const events: ServiceEvent[] = [];
    const watch = watchServices(
      s,
      revision + 1,
      (evs) => events.push(...evs),
      (e) => {
        throw e;
      },
    );
    try {
      const svc = await createService(s, v4, { namespace: "default", name: "web", ports: [{ port: 80 }] });
      await deleteService(s, "default", "web");
      await pollUntil("a put and a delete event", () => events.length >= 2, 5000, { intervalMs: 10 });
      expect(events.map((e) => e.type)).toEqual(["put", "delete"]);
      expect(events[0]?.type === "put" && events[0].service).toEqual(svc);
      expect(events[1]).toMatchObject({ type: "delete", namespace: "default", name: "web" });
    } finally {
      watch.close();
    }
  });
});
