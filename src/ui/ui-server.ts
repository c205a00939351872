/**
 * The HTTP side of `podnet ui` (the API is described in map-types.ts): Bun.serve with the page as
 * an HTML import (bundled into dist/podnet by the build), the map from one MapFeed for every page,
 * Server-Sent Events pulled by each page at its own pace (a page that does not read holds nothing
 * but its socket), and explain/trace through the same pipelines as the commands. Every query
 * string is validated before it reaches them. /api/* refuses (403) a Host that is not the listen
 * address (DNS rebinding) and cross-site requests (request-origin.ts); /api/trace, which sends
 * probes, also needs the page's own same-origin fetch or the token header. Listening beyond
 * loopback needs a token: /api/* without it answers 401. The page and its script (which hold no cluster data) are served to
 * anyone who can connect; the data is not.
 */
import { randomBytes } from "node:crypto";
import { firstControl } from "../base/control-chars.ts";
import { ClusterNotInitializedError } from "../cluster/cluster-config-store.ts";
import { ExplainQueryError, parseExplainQuery } from "../diagnosis/explain.ts";
import { runExplain } from "../diagnosis/run-explain.ts";
import { probeTimeoutFor, randomSourcePort, runTrace, TraceSourceError } from "../diagnosis/run-trace.ts";
import { TargetError } from "../diagnosis/target.ts";
import { TracePlanError } from "../diagnosis/trace-plan.ts";
import { openStore } from "../store/open-store.ts";
import { DatastoreUnavailableError, type Store } from "../store/store.ts";
import { eventStream } from "./event-stream.ts";
import { isLoopback } from "./listen-address.ts";
import { MapFeed, MapUnavailableError } from "./map-feed.ts";
import { type ApiError, type MapHost, type NamedRouter, TOKEN_HEADER } from "./map-types.ts";
import { checkNamedRouters, NamedRouterError } from "./named-router.ts";
import page from "./page/index.html";
import { isSameOriginFetch, originRefusal } from "./request-origin.ts";
import { MIN_TOKEN, sameToken, tokenProblem } from "./ui-token.ts";

export const UI_DEFAULT_HOSTNAME = "127.0.0.1";
export const UI_DEFAULT_PORT = 7474;
export { TOKEN_HEADER };

/** Diagnosis requests running at once; more are refused with 503 rather than queued. */
const MAX_DIAGNOSES = 4;
/** The longest query value accepted (addresses, pod names with a namespace, ports, protocol). */
const MAX_PARAM = 300;

export class UiServerError extends Error {
  override readonly name = "UiServerError";
}

/** A request the API refuses, with its status and the reason the page shows. */
export class ApiRequestError extends Error {
  override readonly name = "ApiRequestError";
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

export interface UiServerOptions {
  /** The datastore spec ("sqlite:/path", "etcd://…"); or `store`, already open (then not closed by stop). */
  readonly datastore?: string;
  readonly store?: Store;
  readonly hostname?: string;
  /** 0: any free port. */
  readonly port?: number;
  /** Required from every API request; generated when listening beyond loopback without one. */
  readonly token?: string;
  readonly hosts?: readonly MapHost[];
  /** Routers the operator named (`--router`): each drawn as one router holding its addresses. */
  readonly routers?: readonly NamedRouter[];
  readonly factsIntervalMs?: number;
  readonly factsTimeoutMs?: number;
  readonly explainTimeoutMs?: number;
  readonly traceTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface UiServer {
  /** The URL to open, with `?token=…` when a token is required. */
  readonly url: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly feed: MapFeed;
  stop(): Promise<void>;
}

export function newToken(): string {
  return randomBytes(18).toString("base64url");
}

/**
 * Whether the request carries `token` (header, or `?token=` unless `headerOnly`), compared in
 * constant time without leaking its length (ui-token.ts).
 */
export function hasToken(req: Request, token: string, headerOnly = false): boolean {
  const given =
    req.headers.get(TOKEN_HEADER) ??
    (headerOnly ? undefined : new URL(req.url).searchParams.get("token")) ??
    "";
  return sameToken(given, token);
}

/** One query parameter, bounded and without control characters; undefined when absent and optional. */
export function queryParam(url: URL, name: string, required: true): string;
export function queryParam(url: URL, name: string, required: false): string | undefined;
export function queryParam(url: URL, name: string, required: boolean): string | undefined {
  const values = url.searchParams.getAll(name);
  if (values.length === 0) {
    if (required) throw new ApiRequestError(400, `missing query parameter "${name}"`);
    return undefined;
  }
  if (values.length > 1) throw new ApiRequestError(400, `query parameter "${name}" given more than once`);
  const value = values[0] ?? "";
  if (value === "") throw new ApiRequestError(400, `query parameter "${name}" is empty`);
  if (value.length > MAX_PARAM)
    throw new ApiRequestError(400, `query parameter "${name}" is longer than ${MAX_PARAM} characters`);
  if (firstControl(value) !== undefined || /\s/.test(value))
    throw new ApiRequestError(400, `query parameter "${name}" contains spaces or control characters`);
  return value;
}

/** `probe`: absent or 1/true → probe; 0/false → predict only. */
export function probeParam(url: URL): boolean {
  const v = queryParam(url, "probe", false);
  if (v === undefined || v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new ApiRequestError(400, `query parameter "probe" must be 0, 1, true or false, not "${v}"`);
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });

const apiError = (status: number, error: string, headers: Record<string, string> = {}) =>
  json({ error } satisfies ApiError, status, headers);

/** The status and reason the API answers for a failure. */
export function errorStatus(e: unknown): { status: number; reason: string } {
  if (e instanceof ApiRequestError) return { status: e.status, reason: e.message };
  if (
    e instanceof ExplainQueryError ||
    e instanceof TargetError ||
    e instanceof TraceSourceError ||
    e instanceof TracePlanError
  )
    return { status: 400, reason: e.message };
  if (
    e instanceof DatastoreUnavailableError ||
    e instanceof ClusterNotInitializedError ||
    e instanceof MapUnavailableError
  )
    return { status: 503, reason: e.message };
  return { status: 500, reason: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/** Starts the map feed and the server; throws when the datastore cannot be read. */
export async function startUiServer(o: UiServerOptions): Promise<UiServer> {
  const hostname = o.hostname ?? UI_DEFAULT_HOSTNAME;
  const token = o.token ?? (isLoopback(hostname) ? undefined : newToken());
  const problem = token === undefined ? undefined : tokenProblem(token, MIN_TOKEN);
  if (problem !== undefined) throw new UiServerError(`the token cannot be used: ${problem}`);
  let routers: NamedRouter[] = [];
  try {
    routers = checkNamedRouters(o.routers ?? []);
  } catch (e) {
    if (e instanceof NamedRouterError) throw new UiServerError(e.message);
    throw e;
  }
  if (o.store === undefined && o.datastore === undefined)
    throw new UiServerError("startUiServer needs a datastore or a store");
  const ownStore = o.store === undefined;
  const store = o.store ?? (await openStore(o.datastore ?? ""));
  const log = o.log ?? ((line: string) => console.error(`podnet ui: ${line}`));
  const feed = new MapFeed(store, {
    ...(o.hosts !== undefined ? { hosts: o.hosts } : {}),
    routers,
    ...(o.factsIntervalMs !== undefined ? { factsIntervalMs: o.factsIntervalMs } : {}),
    ...(o.factsTimeoutMs !== undefined ? { factsTimeoutMs: o.factsTimeoutMs } : {}),
    log,
  });
  try {
    await feed.start();
  } catch (e) {
    feed.close();
    if (ownStore) await store.close();
    throw e;
  }
  let running = 0;
  /** Runs one diagnosis (explain/trace) within the concurrency bound. */
  const diagnose = async (work: () => Promise<unknown>): Promise<Response> => {
    if (running >= MAX_DIAGNOSES)
      return apiError(503, `busy: ${MAX_DIAGNOSES} explain/trace requests are already running`, {
        "retry-after": "1",
      });
    running++;
    try {
      return json(await work());
    } finally {
      running--;
    }
  };
  let listenPort = o.port ?? UI_DEFAULT_PORT;
  const guarded =
    (handler: (req: Request, url: URL) => Response | Promise<Response>) =>
    async (req: Request): Promise<Response> => {
      const refused = originRefusal(req, hostname, listenPort);
      if (refused !== undefined) return apiError(403, refused);
      if (token !== undefined && !hasToken(req, token))
        return apiError(401, "this server needs its token: open the URL it printed (…?token=…)");
      try {
        return await handler(req, new URL(req.url));
      } catch (e) {
        const { status, reason } = errorStatus(e);
        if (status !== 500) return apiError(status, reason);
        // The detail (paths, endpoints) goes to the server's log, not to whoever holds the page.
        log(`request ${new URL(req.url).pathname} failed: ${reason}`);
        return apiError(500, "internal error (the server's log has the detail)");
      }
    };
  const server = Bun.serve({
    hostname,
    port: o.port ?? UI_DEFAULT_PORT,
    development: false,
    // A trace may take its whole timeout (10 s by default) before it answers; streams ping every 5 s.
    idleTimeout: 30,
    routes: {
      "/": page,
      "/api/map": {
        GET: guarded(() => {
          const map = feed.current();
          feed.freshen();
          return new Response(feed.serialized(map).json, {
            headers: { "content-type": "application/json;charset=utf-8", "cache-control": "no-store" },
          });
        }),
      },
      "/api/events": {
        GET: guarded((req) => {
          feed.current(); // 503 before the stream starts when there is no map
          return new Response(eventStream(feed, req.signal), {
            headers: {
              "content-type": "text/event-stream",
              "cache-control": "no-store",
              "x-accel-buffering": "no",
            },
          });
        }),
      },
      "/api/explain": {
        GET: guarded((_req, url) => {
          const query = parseExplainQuery(queryParam(url, "address", true));
          return diagnose(() =>
            runExplain(store, query, { timeoutMs: o.explainTimeoutMs ?? 3000, command: "ui" }),
          );
        }),
      },
      "/api/trace": {
        GET: guarded((req, url) => {
          // It sends probes: never for a plain cross-site GET (an <img>), only for the page's own
          // fetch or a client holding the token in its header.
          if (!(isSameOriginFetch(req) || (token !== undefined && hasToken(req, token, true))))
            throw new ApiRequestError(
              403,
              `trace needs the ${TOKEN_HEADER} header or a same-origin fetch (Sec-Fetch-Site: same-origin)`,
            );
          const source = queryParam(url, "source", true);
          const destination = queryParam(url, "destination", true);
          const probe = probeParam(url);
          const timeoutMs = o.traceTimeoutMs ?? 10_000;
          return diagnose(() =>
            runTrace(store, {
              source,
              destination,
              probe,
              timeoutMs,
              sourcePort: randomSourcePort(),
              probeTimeoutMs: probeTimeoutFor(timeoutMs),
            }),
          );
        }),
      },
      "/api/*": guarded(() => apiError(404, "no such API")),
    },
    fetch: () => apiError(404, "not found"),
  });
  const port = server.port ?? o.port ?? UI_DEFAULT_PORT;
  listenPort = port;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `http://${host}:${port}/${token !== undefined ? `?token=${encodeURIComponent(token)}` : ""}`;
  return {
    url,
    port,
    token,
    feed,
    stop: async () => {
      feed.close();
      await server.stop(true);
      if (ownStore) await store.close();
    },
  };
}
