import { describe, expect, test } from "bun:test";
import type { Service } from "../k8s/service-model.ts";
import { clusterIPOf, LabServiceError } from "./lab-services.ts";

const service = (clusterIPs: string[]): Service => ({
  namespace: "default",
  name: "echo",
  clusterIPs,
  ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
  sessionAffinity: { kind: "None" },
  selector: { app: "echo" },
});

describe("clusterIPOf", () => {
  test("picks the ClusterIP of each family, whatever the Service's order", () => {
    const dual = service(["fd00:10:96::a", "10.96.0.10"]);
    expect(clusterIPOf(dual, 4)).toBe("10.96.0.10");
    expect(clusterIPOf(dual, 6)).toBe("fd00:10:96::a");
  });

  test("a missing family is an error naming the Service and the family", () => {
    expect(() => clusterIPOf(service(["10.96.0.10"]), 6)).toThrow(
      new LabServiceError("Service default/echo has no IPv6 ClusterIP"),
    );
    expect(() => clusterIPOf(service([]), 4)).toThrow("Service default/echo has no IPv4 ClusterIP");
    expect(() => clusterIPOf(service(["fd00:10:96::a"]), 4)).toThrow(LabServiceError);
  });
});
