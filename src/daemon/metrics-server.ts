/** Serves a daemon's metrics (/metrics) and liveness (/healthz) over HTTP, on a local address. */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

export interface MetricsServer {
  stop(): void;
}

export function serveMetrics(metrics: Metrics, at: ListenAddress, log: Logger): MetricsServer {
  const server = Bun.serve({
    hostname: at.hostname,
    port: at.port,
    fetch: async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics")
        return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
      if (path === "/healthz") return new Response("ok\n");
      return new Response("not found\n", { status: 404 });
    },
  });
  log.info("metrics served", { url: `http://${at.hostname}:${at.port}/metrics` });
  return { stop: () => server.stop(true) };
}
