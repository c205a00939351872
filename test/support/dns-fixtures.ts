/** What the DNS unit tests share: a Service in namespace default with one HTTP port. */
import type { Service } from "../../src/k8s/service-model.ts";

/** Service `name` in namespace default, port http 80 → 8080, selecting app=`name`. */
export const httpService = (name: string, clusterIPs: string[]): Service => ({
  namespace: "default",
  name,
  clusterIPs,
  ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
  sessionAffinity: { kind: "None" },
  selector: { app: name },
});
