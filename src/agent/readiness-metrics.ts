/** The Prometheus series of the pods' readiness checks (readiness-checks.ts). */
import type { Metrics } from "../daemon/metrics.ts";

export function readinessMetrics(metrics: Metrics) {
  const m = {
    checks: metrics.counter(
      "podnet_agent_readiness_checks_total",
      "Readiness checks of this node's pods run (result: success, failure).",
      ["result"],
    ),
    notReady: metrics.gauge("podnet_agent_pods_not_ready", "Pods of this node whose readiness check fails."),
    checked: metrics.gauge("podnet_agent_pods_checked", "Pods of this node that declare a readiness check."),
    errors: metrics.counter(
      "podnet_agent_readiness_errors_total",
      "Failures to read the pods to check or to watch the state directory (kind: read, watch).",
      ["kind"],
    ),
  };
  for (const result of ["success", "failure"]) m.checks.inc({ result }, 0);
  for (const kind of ["read", "watch"]) m.errors.inc({ kind }, 0);
  m.notReady.set(0);
  m.checked.set(0);
  return m;
}

export type ReadinessMetrics = ReturnType<typeof readinessMetrics>;
