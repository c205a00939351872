/// <reference lib="dom" />
/**
 * The page's calls to `podnet ui`: the token from the page's own URL (`?token=…`, as the server
 * prints it) goes back in the `x-podnet-token` header on every request, and in the query string of
 * the event stream (EventSource cannot set headers).
 */
import { errorText } from "../../base/error-text.ts";
import type { ApiError, ClusterMap } from "../map-types.ts";
import { TOKEN_HEADER } from "../map-types.ts";

export class ApiCallError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    reason: string,
  ) {
    super(`${path} failed (${status}): ${reason}`);
    this.name = "ApiCallError";
  }
}

export function pageToken(): string | undefined {
  const t = new URLSearchParams(location.search).get("token");
  return t === null || t === "" ? undefined : t;
}

const isApiError = (x: unknown): x is ApiError =>
  typeof x === "object" && x !== null && typeof (x as { error?: unknown }).error === "string";

/** GETs an API path and returns its JSON; errors name the path and the server's reason. */
export async function apiGet<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const url = `${path}?${new URLSearchParams(params).toString()}`;
  const token = pageToken();
  let res: Response;
  try {
    res = await fetch(url, { headers: token === undefined ? {} : { [TOKEN_HEADER]: token } });
  } catch (e) {
    throw new ApiCallError(path, 0, errorText(e));
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiCallError(path, res.status, isApiError(body) ? body.error : res.statusText);
  if (body === undefined) throw new ApiCallError(path, res.status, "the answer is not JSON");
  return body as T;
}

export const fetchMap = () => apiGet<ClusterMap>("/api/map");

/** The live map stream; EventSource reconnects by itself after the server's `retry:`. */
export function openEvents(
  onMap: (map: ClusterMap) => void,
  onState: (connected: boolean) => void,
): EventSource {
  const token = pageToken();
  const es = new EventSource(
    token === undefined ? "/api/events" : `/api/events?${new URLSearchParams({ token })}`,
  );
  es.addEventListener("map", (ev) => {
    const data = (ev as MessageEvent<string>).data;
    try {
      onMap(JSON.parse(data) as ClusterMap);
    } catch {
      // A torn or foreign event is skipped: the next map replaces it anyway.
    }
  });
  es.addEventListener("open", () => onState(true));
  es.addEventListener("error", () => onState(false));
  return es;
}
