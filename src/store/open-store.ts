/**
 * `--datastore` specs: `sqlite:PATH` (the embedded default) or
 * `etcd://HOST:PORT[,HOST:PORT...]` (every member of an etcd cluster, plain http).
 */
import { isIPv4, isIPv6 } from "node:net";
import { unhandled } from "../base/unhandled.ts";
import type { EtcdStoreOptions } from "./etcd-store.ts";
import { EtcdStore } from "./etcd-store.ts";
import type { SqliteStoreOptions } from "./sqlite-store.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import type { Store } from "./store.ts";

export class DatastoreSpecError extends Error {
  override readonly name = "DatastoreSpecError";
  constructor(
    readonly spec: string,
    readonly reason: string,
  ) {
    super(`Invalid datastore "${spec}": ${reason}`);
  }
}

export type DatastoreSpec =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "etcd"; readonly endpoints: readonly string[] };

const USAGE = "use sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...]";
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function validHostname(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.split(".");
  // All-numeric dotted names are meant as IPv4 addresses and must be valid ones.
  if (labels.every((l) => /^\d+$/.test(l))) return isIPv4(host);
  return labels.every((l) => HOST_LABEL.test(l));
}

function parseEndpoint(spec: string, endpoint: string): string {
  if (endpoint === "") throw new DatastoreSpecError(spec, "empty endpoint in the list");
  const m = /^(\[[^\]]*\]|[^:]*):([^:]*)$/.exec(endpoint);
  if (!m) throw new DatastoreSpecError(spec, `endpoint "${endpoint}" is not HOST:PORT`);
  const [, host = "", port = ""] = m;
  if (host.startsWith("[")) {
    if (!isIPv6(host.slice(1, -1))) {
      throw new DatastoreSpecError(spec, `host "${host}" of "${endpoint}" is not an IPv6 address`);
    }
  } else if (!validHostname(host)) {
    throw new DatastoreSpecError(
      spec,
      `host "${host}" of "${endpoint}" is not a valid hostname or IPv4 address`,
    );
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new DatastoreSpecError(spec, `port "${port}" of "${endpoint}" is not a number from 1 to 65535`);
  }
  return `${host}:${Number(port)}`;
}

function parseSqlite(spec: string, rest: string): DatastoreSpec {
  // sqlite:///var/lib/x.db (URL style) means the same as sqlite:/var/lib/x.db.
  const path = rest.startsWith("///") ? rest.slice(2) : rest;
  if (path.startsWith("//"))
    throw new DatastoreSpecError(spec, "use sqlite:/ABSOLUTE/PATH or sqlite:///ABSOLUTE/PATH");
  if (path === "") throw new DatastoreSpecError(spec, "no path after sqlite:");
  if (path.includes("\0")) throw new DatastoreSpecError(spec, "path contains a NUL byte");
  if (!path.startsWith("/")) throw new DatastoreSpecError(spec, `path "${path}" is not absolute`);
  if (path.split("/").includes("..")) throw new DatastoreSpecError(spec, `path "${path}" contains ".."`);
  if (path.endsWith("/")) throw new DatastoreSpecError(spec, `path "${path}" names a directory`);
  return { kind: "sqlite", path };
}

function parseEtcd(spec: string, rest: string): DatastoreSpec {
  if (rest === "") throw new DatastoreSpecError(spec, "no HOST:PORT after etcd://");
  if (rest.includes("/") || rest.includes("@") || rest.includes("?")) {
    throw new DatastoreSpecError(
      spec,
      "only HOST:PORT[,HOST:PORT...] may follow etcd:// (no path, user or query)",
    );
  }
  const endpoints = rest.split(",").map((e) => parseEndpoint(spec, e));
  const seen = new Set<string>();
  for (const e of endpoints) {
    if (seen.has(e)) throw new DatastoreSpecError(spec, `endpoint "${e}" is listed twice`);
    seen.add(e);
  }
  return { kind: "etcd", endpoints };
}

export function parseDatastoreSpec(spec: string): DatastoreSpec {
  if (spec.startsWith("sqlite:")) return parseSqlite(spec, spec.slice("sqlite:".length));
  if (spec.startsWith("etcd://")) return parseEtcd(spec, spec.slice("etcd://".length));
  if (/^(etcds|https):\/\//.test(spec))
    throw new DatastoreSpecError(spec, "TLS to etcd is not supported yet");
  throw new DatastoreSpecError(spec, USAGE);
}

export interface OpenStoreOptions {
  readonly sqlite?: SqliteStoreOptions;
  readonly etcd?: EtcdStoreOptions;
}

/** Opens the datastore a `--datastore` spec names. etcd connects lazily, on the first call. */
export async function openStore(spec: string, options: OpenStoreOptions = {}): Promise<Store> {
  const parsed = parseDatastoreSpec(spec);
  switch (parsed.kind) {
    case "sqlite":
      return openSqliteStore(parsed.path, options.sqlite);
    case "etcd":
      return new EtcdStore(parsed.endpoints, options.etcd);
    default: {
      unhandled(parsed, (shown) => new DatastoreSpecError(spec, `unknown kind ${shown}`));
    }
  }
}
