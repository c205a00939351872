/**
 * A pod's readiness check as it declares it and as its pod row keeps it: a TCP connect or an HTTP
 * GET on a port of the pod's address, with kubelet's timing fields and defaults (Kubernetes
 * "Configure Liveness, Readiness and Startup Probes"; pkg/apis/core/v1/defaults.go). The shape is
 * Kubernetes' Probe, so a pod spec's `readinessProbe` translates field for field:
 *
 *   {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
 *   {"httpGet": {"port": 8080, "path": "/healthz"}, "failureThreshold": 2}
 *
 * Pure: the plugin validates a declaration with it at ADD, the node state re-reads the stored
 * (normalised, defaults filled) form with it, the agent runs what it returns.
 */

export type ReadinessAction =
  | { readonly kind: "tcp"; readonly port: number }
  | { readonly kind: "http"; readonly port: number; readonly path: string };

export interface ReadinessCheck {
  readonly action: ReadinessAction;
  /** Seconds between checks (kubelet: default 10, at least 1). */
  readonly periodSeconds: number;
  /** Seconds one check may take (default 1, at least 1, at most MAX_TIMEOUT_SECONDS). */
  readonly timeoutSeconds: number;
  /** Consecutive successes that make a not-ready pod ready (default 1). */
  readonly successThreshold: number;
  /** Consecutive failures that make a ready pod not ready (default 3). */
  readonly failureThreshold: number;
  /** Seconds after the pod was attached before the first check (default 0). */
  readonly initialDelaySeconds: number;
}

/** Why a declaration is refused: the field (relative to the declaration) and the reason. */
export interface ReadinessCheckProblem {
  readonly field: string;
  readonly reason: string;
}

const DAY = 86_400;
/**
 * The longest a check may take. Kubernetes sets no bound; here one is set so that a pod whose
 * server accepts and never answers holds a check open for a minute at most, not an hour.
 */
export const MAX_TIMEOUT_SECONDS = 60;
/** Field, default, least and greatest value of the timing fields. */
const TIMING = [
  ["periodSeconds", 10, 1, DAY],
  ["timeoutSeconds", 1, 1, MAX_TIMEOUT_SECONDS],
  ["successThreshold", 1, 1, 1_000],
  ["failureThreshold", 3, 1, 1_000],
  ["initialDelaySeconds", 0, 0, DAY],
] as const;
const KNOWN = new Set<string>(["tcpSocket", "httpGet", ...TIMING.map(([f]) => f)]);
const MAX_PATH = 1024;
/** An absolute path with a query if any, in URI characters (RFC 3986), no fragment, no spaces. */
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;

class Refused extends Error {
  constructor(readonly problem: ReadinessCheckProblem) {
    super(`${problem.field} ${problem.reason}`);
  }
}

const refuse = (field: string, reason: string): never => {
  throw new Refused({ field, reason });
};

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "object") return "an object";
  return `the ${typeof v} ${String(v)}`;
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return refuse(field, `must be an object, got ${describeValue(v)}`);
  return v as Record<string, unknown>;
}

function onlyKeys(obj: Record<string, unknown>, field: string, known: ReadonlySet<string>): void {
  const unknown = Object.keys(obj).find((k) => !known.has(k));
  if (unknown !== undefined)
    refuse(field === "" ? unknown : `${field}.${unknown}`, `is not a field of a readiness check`);
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v))
    return refuse(field, `must be a whole number, got ${describeValue(v)}`);
  if (v < min || v > max) return refuse(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function action(decl: Record<string, unknown>): ReadinessAction {
  const tcp = decl.tcpSocket ?? undefined;
  const http = decl.httpGet ?? undefined;
  if ((tcp === undefined) === (http === undefined))
    return refuse("tcpSocket/httpGet", "exactly one of the two must be given");
  if (tcp !== undefined) {
    const t = record(tcp, "tcpSocket");
    onlyKeys(t, "tcpSocket", new Set(["port"]));
    return { kind: "tcp", port: integer(t.port, "tcpSocket.port", 1, 65_535) };
  }
  const h = record(http, "httpGet");
  onlyKeys(h, "httpGet", new Set(["port", "path", "scheme"]));
  // Kubernetes allows HTTPS (unverified); the agent speaks plain HTTP only, so say so at ADD.
  if (h.scheme !== undefined && h.scheme !== "HTTP")
    refuse(
      "httpGet.scheme",
      `must be "HTTP" (the only scheme podnet checks), got ${describeValue(h.scheme)}`,
    );
  const path = h.path ?? "/";
  if (typeof path !== "string") return refuse("httpGet.path", `must be a string, got ${describeValue(path)}`);
  if (path.length > MAX_PATH) refuse("httpGet.path", `must be at most ${MAX_PATH} characters`);
  if (!PATH.test(path))
    refuse("httpGet.path", `must start with "/" and hold only URI characters, got ${JSON.stringify(path)}`);
  return { kind: "http", port: integer(h.port, "httpGet.port", 1, 65_535), path };
}

/** The check `value` declares, defaults filled in, or the first problem found in it. */
export function parseReadinessCheck(value: unknown): ReadinessCheck | ReadinessCheckProblem {
  try {
    const decl = record(value, "readiness");
    onlyKeys(decl, "", KNOWN);
    const timing: Record<string, number> = {};
    for (const [field, fallback, min, max] of TIMING) {
      const v = decl[field];
      timing[field] = v === undefined || v === null ? fallback : integer(v, field, min, max);
    }
    return { action: action(decl), ...(timing as Omit<ReadinessCheck, "action">) };
  } catch (e) {
    if (e instanceof Refused) return e.problem;
    throw e;
  }
}

export function isReadinessCheck(v: ReadinessCheck | ReadinessCheckProblem): v is ReadinessCheck {
  return "action" in v;
}

/** The declaration form of `check` (what parseReadinessCheck reads back to the same check). */
export function readinessDeclaration(check: ReadinessCheck): Record<string, unknown> {
  const { action: a, ...timing } = check;
  const probe =
    a.kind === "tcp" ? { tcpSocket: { port: a.port } } : { httpGet: { port: a.port, path: a.path } };
  return { ...probe, ...timing };
}

/** Whether two checks are the same (a pod whose check changed starts over). */
export function sameReadinessCheck(a: ReadinessCheck | undefined, b: ReadinessCheck | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(readinessDeclaration(a)) === JSON.stringify(readinessDeclaration(b));
}

/** "tcp 8080" or "http 8080/healthz": the check in a log line or an error. */
export function describeReadinessCheck(check: ReadinessCheck): string {
  const a = check.action;
  return a.kind === "tcp" ? `tcp ${a.port}` : `http ${a.port}${a.path}`;
}
