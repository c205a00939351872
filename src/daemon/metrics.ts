/**
 * A daemon's Prometheus metrics: one prom-client registry per daemon, with the standard process
 * metrics (CPU, resident memory, open fds, event-loop lag, heap) that operators' dashboards and
 * alerts expect next to the daemon's own series.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type { Counter, Gauge, Histogram } from "prom-client";

export interface MetricsOptions {
  /** Export process_* and nodejs_* metrics too (a daemon does; a unit test need not). */
  readonly processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();

  constructor(options: MetricsOptions = {}) {
    // Event-loop lag sampled every 100 ms instead of the default 10: a node runs one agent, a lab
    // or a benchmark runs fifty on two cores, and the finer sampling tripled an idle agent's CPU.
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly string[] = [],
  ): Histogram {
    return new Histogram({ name, help, buckets: [...buckets], labelNames, registers: [this.registry] });
  }

  /** The text exposition format Prometheus scrapes from /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
