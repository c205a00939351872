/**
 * Which Services the latency client connects to, and in which order (pure, seeded so a run can be
 * repeated). Every other connection goes to the last Service of the table, the rest to Services
 * drawn uniformly from the whole table: the last one is the worst case of a linear rule list
 * (every rule before it is tested), the random ones its average case.
 */

import { mulberry32 } from "../../testkit/seeded-random.ts";

export type TargetKind = "last" | "random";

export interface ConnectionTarget {
  readonly kind: TargetKind;
  readonly service: number;
}

/** `count` targets over a table of `services` Services, alternating last and random. */
export function connectionTargets(services: number, count: number, seed: number): ConnectionTarget[] {
  if (!Number.isInteger(services) || services < 1)
    throw new RangeError(`Cannot pick targets from ${services} Services: at least 1 is needed`);
  const random = mulberry32(seed);
  const out: ConnectionTarget[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      i % 2 === 0
        ? { kind: "last", service: services - 1 }
        : { kind: "random", service: Math.floor(random() * services) },
    );
  }
  return out;
}

/**
 * The order of the cases in round `round`: rotated by one each round, so every case runs first,
 * second, ... equally often and slow drift of the machine lands on all of them alike.
 */
export function roundOrder<T>(cases: readonly T[], round: number): T[] {
  const n = cases.length;
  if (n === 0) return [];
  const shift = ((round % n) + n) % n;
  return [...cases.slice(shift), ...cases.slice(0, shift)];
}

/** Splits `total` into `parts` near-equal shares, the first ones one larger (connections per round). */
export function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** What one run of connect-client.ts prints (one JSON document on stdout). */
export interface ClientResult {
  /** Per target kind: setup times of the connections that succeeded, in ms, in order. */
  readonly samples: Readonly<
    Record<TargetKind, { readonly connectMs: readonly number[]; readonly firstByteMs: readonly number[] }>
  >;
  /** Connections that failed or timed out, and those answered by a pod not behind the ClusterIP. */
  readonly errors: number;
  readonly wrongEndpoint: number;
  readonly firstErrors: readonly string[];
}

export class ClientResultError extends Error {
  override readonly name = "ClientResultError";
}

function numbers(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0))
    throw new ClientResultError(`Cannot read the client's result: ${what} is not a list of durations`);
  return value;
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    throw new ClientResultError(`Cannot read the client's result: ${what} is not a count`);
  return value;
}

/** Parses what connect-client.ts printed, field by field: it crosses a process boundary. */
export function parseClientResult(text: string): ClientResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ClientResultError(
      `Cannot read the client's result: not JSON: ${JSON.stringify(text.slice(0, 120))}`,
    );
  }
  if (typeof raw !== "object" || raw === null)
    throw new ClientResultError("Cannot read the client's result: not an object");
  const r = raw as Record<string, unknown>;
  const samples = (r.samples ?? {}) as Record<
    string,
    { connectMs?: unknown; firstByteMs?: unknown } | undefined
  >;
  const kind = (k: TargetKind) => {
    const connectMs = numbers(samples[k]?.connectMs, `samples.${k}.connectMs`);
    const firstByteMs = numbers(samples[k]?.firstByteMs, `samples.${k}.firstByteMs`);
    if (connectMs.length !== firstByteMs.length)
      throw new ClientResultError(
        `Cannot read the client's result: samples.${k} has lists of different lengths`,
      );
    return { connectMs, firstByteMs };
  };
  const firstErrors = r.firstErrors;
  if (!Array.isArray(firstErrors) || !firstErrors.every((e) => typeof e === "string"))
    throw new ClientResultError("Cannot read the client's result: firstErrors is not a list of messages");
  return {
    samples: { last: kind("last"), random: kind("random") },
    errors: count(r.errors, "errors"),
    wrongEndpoint: count(r.wrongEndpoint, "wrongEndpoint"),
    firstErrors,
  };
}
