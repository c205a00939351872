import { describe, expect, test } from "bun:test";
import { ENDPOINT_NODE, endpointPodRecord } from "./agent-datastore.ts";

const entry = {
  service: {
    namespace: "bench",
    name: "svc-00007",
    clusterIPs: ["10.96.0.8"],
    ports: [{ name: "http", protocol: "TCP" as const, port: 80, targetPort: 8080 }],
    sessionAffinity: { kind: "None" as const },
    selector: { app: "svc-00007" },
  },
  endpoints: [
    { ip: "10.244.0.71", node: "node-0", pod: "bench/svc-7-pod-70" },
    { ip: "10.244.0.72", node: "node-0", pod: "bench/svc-7-pod-71" },
  ],
};

describe("endpointPodRecord", () => {
  test("a pod of the endpoint node in the Service's namespace, with its selector's labels", () => {
    expect(endpointPodRecord(entry, 1)).toEqual({
      namespace: "bench",
      name: "svc-7-pod-71",
      node: ENDPOINT_NODE,
      ips: ["10.244.0.72"],
      labels: { app: "svc-00007" },
    });
  });

  test("the labels are a copy: the record never aliases the Service's selector", () => {
    const record = endpointPodRecord(entry, 0);
    expect(record.labels).not.toBe(entry.service.selector);
  });

  test("an endpoint the Service does not have is refused with its name", () => {
    expect(() => endpointPodRecord(entry, 2)).toThrow("Service svc-00007 has no endpoint #2");
  });
});
