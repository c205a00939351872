/**
 * Pods as endpoint candidates in the datastore: `/podnet/pods/NODE/NAMESPACE/NAME` holds a pod's
 * addresses, labels and readiness (`ready: false` when its check fails; absent when ready). Each
 * node agent publishes the pods it attached, under its node lease so the records vanish with a
 * dead node; Service endpoints are the ready ones its selector matches.
 */
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { labelsProblem, namespaceProblem, podNameProblem } from "../k8s/names.ts";
import type { Endpoint, PodRecord, Service } from "../k8s/service-model.ts";
import { endpointsOf, notReadyEndpointsOf } from "../k8s/service-model.ts";
import type { Store, Watch } from "../store/store.ts";
import { ROOT } from "./keys.ts";
import { LabelSets } from "./label-sets.ts";
import { NODE_NAME } from "./node-record.ts";

export const PODS_PREFIX = `${ROOT}/pods/`;

export interface PodRef {
  readonly node: string;
  readonly namespace: string;
  readonly name: string;
}

export function podRecordKey(pod: PodRef): string {
  return `${PODS_PREFIX}${pod.node}/${pod.namespace}/${pod.name}`;
}

export function podRefFromKey(key: string): PodRef | undefined {
  if (!key.startsWith(PODS_PREFIX)) return undefined;
  const parts = key.slice(PODS_PREFIX.length).split("/");
  const [node, namespace, name] = parts;
  return parts.length === 3 && node && namespace && name ? { node, namespace, name } : undefined;
}

export class InvalidPodRecordError extends Error {
  override readonly name = "InvalidPodRecordError";
  constructor(
    /** "namespace/name on node" as far as known. */
    readonly pod: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid pod record ${pod}: ${field} ${reason}`);
  }
}

/** Validates a record and puts its addresses in canonical form (so endpoints compare as text). */
export function checkPodRecord(record: PodRecord): PodRecord {
  return checked(record, false, undefined);
}

/**
 * Whether `text` is an IPv4 address as formatIP writes it (four decimal numbers up to 255, no
 * leading zeros). Such text is kept as it is: parsing and formatting every address of a 100,000
 * pod listing made a dozen short-lived objects per pod.
 */
function isCanonicalIPv4(text: string): boolean {
  let parts = 0;
  let i = 0;
  while (i <= text.length) {
    let n = 0;
    let digits = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (digits > 0 && n === 0) return false;
      n = n * 10 + c;
      digits++;
      i++;
    }
    if (digits === 0 || n > 255) return false;
    parts++;
    if (i === text.length) return parts === 4;
    if (text[i] !== "." || parts === 4) return false;
    i++;
  }
  return false;
}

/**
 * checkPodRecord. An `owned` record (just parsed, nobody else holds it) keeps its labels object
 * rather than a copy, shared through `shared` with equal ones of the same listing or batch.
 */
function checked(record: PodRecord, owned: boolean, shared: LabelSets | undefined): PodRecord {
  const raw = record as unknown as Record<string, unknown>;
  // Built only for an error: most records are valid.
  const fail = (field: string, reason: string) =>
    new InvalidPodRecordError(
      `"${String(raw.namespace)}/${String(raw.name)}" on node "${String(raw.node)}"`,
      field,
      reason,
    );
  if (typeof raw.node !== "string" || !NODE_NAME.test(raw.node))
    throw fail("node", "must be a node name (lowercase letters, digits, '.' and '-')");
  const ns = typeof raw.namespace === "string" ? namespaceProblem(raw.namespace) : "must be a string";
  if (ns !== undefined) throw fail("namespace", ns);
  const name = typeof raw.name === "string" ? podNameProblem(raw.name) : "must be a string";
  if (name !== undefined) throw fail("name", name);
  if (!Array.isArray(raw.ips) || raw.ips.length === 0) throw fail("ips", "must list at least one address");
  const ips: string[] = [];
  // Whether every address is already canonical (then an owned record keeps its own list).
  let asIs = true;
  for (const text of raw.ips as unknown[]) {
    let canonical: string;
    if (typeof text === "string" && isCanonicalIPv4(text)) canonical = text;
    else {
      const ip = typeof text === "string" ? tryParseIP(text) : undefined;
      if (ip === undefined) throw fail("ips", `holds ${JSON.stringify(text)}, which is not an IP address`);
      canonical = formatIP(ip);
      asIs &&= canonical === text;
    }
    if (ips.includes(canonical)) throw fail("ips", `lists ${canonical} twice`);
    ips.push(canonical);
  }
  const labels = raw.labels ?? {};
  const problem = labelsProblem(labels);
  if (problem !== undefined) throw fail("labels", problem);
  if (raw.ready !== undefined && typeof raw.ready !== "boolean")
    throw fail("ready", `is ${JSON.stringify(raw.ready)}: must be true or false`);
  const kept = !owned
    ? { ...(labels as Record<string, string>) }
    : shared === undefined
      ? (labels as Record<string, string>)
      : shared.share(labels as Record<string, string>);
  if (owned && asIs && inWrittenShape(raw)) {
    // The parsed object is already the record: keep it rather than copy it (one object and
    // one list less per record read).
    raw.labels = kept;
    return record;
  }
  const base = { namespace: record.namespace, name: record.name, node: record.node, ips, labels: kept };
  // Absent means ready: a ready pod's record is the same text an older agent writes, so an
  // upgrade rewrites no record and old readers see no new field until a pod is unready.
  return raw.ready === false ? { ...base, ready: false } : base;
}

/** The fields of a record in the order putPodRecord writes them. */
const WRITTEN = ["namespace", "name", "node", "ips", "labels", "ready"];

/**
 * Whether a parsed record has exactly the fields putPodRecord writes, in its order (`ready` only
 * as false), so it is what checked() would build.
 */
function inWrittenShape(raw: Record<string, unknown>): boolean {
  let n = 0;
  for (const key in raw) {
    if (key !== WRITTEN[n]) return false;
    n++;
  }
  return n === 5 || (n === 6 && raw.ready === false);
}

/** Whether `key` is podRecordKey(record), compared without building the key. */
function isKeyOf(key: string, record: PodRef): boolean {
  const { node, namespace, name } = record;
  let at = PODS_PREFIX.length;
  if (key.length !== at + node.length + namespace.length + name.length + 2 || !key.startsWith(PODS_PREFIX))
    return false;
  if (!key.startsWith(node, at) || key[at + node.length] !== "/") return false;
  at += node.length + 1;
  if (!key.startsWith(namespace, at) || key[at + namespace.length] !== "/") return false;
  return key.startsWith(name, at + namespace.length + 1);
}

/**
 * Reads the record stored under `key`. With `shared`, equal label sets of the records read with
 * the same table are one object (see LabelSets: one table per listing or batch).
 */
export function parsePodRecord(key: string, text: string, shared?: LabelSets): PodRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidPodRecordError(key, "record", "is not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new InvalidPodRecordError(key, "record", "is not a JSON object");
  const record = checked(raw as PodRecord, true, shared);
  if (!isKeyOf(key, record))
    throw new InvalidPodRecordError(
      key,
      "record",
      `describes pod "${record.namespace}/${record.name}" on node "${record.node}", which belongs under another key`,
    );
  return record;
}

/**
 * Publishes (or replaces) a pod's record. With `leaseId` (the node's lease) the record is removed
 * by the datastore when the node stops renewing it, so a dead node's pods stop being endpoints.
 */
export async function putPodRecord(store: Store, record: PodRecord, leaseId?: string): Promise<void> {
  const checked = checkPodRecord(record);
  await store.put(
    podRecordKey(checked),
    JSON.stringify(checked),
    leaseId === undefined ? {} : { lease: leaseId },
  );
}

export interface PodRecordList {
  readonly pods: PodRecord[];
  /** Records that could not be read, with the reason. */
  readonly invalid: string[];
  /** Watch from revision + 1 to miss nothing. */
  readonly revision: number;
}

/** Records read per page of a listing: the raw text of one page is held at a time. */
export const LIST_PAGE_SIZE = 1000;

/** Every pod record, or only those of `node`. */
export async function listPodRecords(store: Store, node?: string): Promise<PodRecordList> {
  const pods: PodRecord[] = [];
  const invalid: string[] = [];
  const shared = new LabelSets();
  const prefix = node === undefined ? PODS_PREFIX : `${PODS_PREFIX}${node}/`;
  const revision = await store.listPages(prefix, LIST_PAGE_SIZE, (kvs) => {
    for (const kv of kvs) {
      try {
        pods.push(parsePodRecord(kv.key, kv.value, shared));
      } catch (e) {
        if (!(e instanceof InvalidPodRecordError)) throw e;
        invalid.push(e.message);
      }
    }
  });
  return { pods, invalid, revision };
}

export type PodRecordEvent =
  | { readonly type: "put"; readonly pod: PodRecord; readonly revision: number }
  | { readonly type: "delete"; readonly pod: PodRef; readonly revision: number }
  | { readonly type: "invalid"; readonly key: string; readonly reason: string; readonly revision: number };

/** Calls `onEvents` with every change to any pod record from `fromRevision` on, records decoded. */
export function watchPodRecords(
  store: Store,
  fromRevision: number,
  onEvents: (events: readonly PodRecordEvent[]) => void,
  onError: (e: Error) => void,
): Watch {
  return store.watch(PODS_PREFIX, {
    fromRevision,
    onError,
    onEvents: (events) => {
      const decoded: PodRecordEvent[] = [];
      const shared = new LabelSets();
      for (const ev of events) {
        if (ev.type === "delete") {
          const pod = podRefFromKey(ev.key);
          if (pod) decoded.push({ type: "delete", pod, revision: ev.revision });
          continue;
        }
        try {
          decoded.push({
            type: "put",
            pod: parsePodRecord(ev.kv.key, ev.kv.value, shared),
            revision: ev.revision,
          });
        } catch (e) {
          if (!(e instanceof InvalidPodRecordError)) throw e;
          decoded.push({ type: "invalid", key: ev.kv.key, reason: e.message, revision: ev.revision });
        }
      }
      if (decoded.length > 0) onEvents(decoded);
    },
  });
}

const byPodThenIp = (a: Endpoint, b: Endpoint) =>
  a.pod === b.pod ? (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0) : a.pod < b.pod ? -1 : 1;

/** The Service's current endpoints: ready pods of its namespace its selector matches, by pod then address. */
export async function listEndpoints(store: Store, service: Service): Promise<Endpoint[]> {
  const { pods } = await listPodRecords(store);
  return endpointsOf(service, pods).sort(byPodThenIp);
}

export interface ServiceEndpoints {
  /** Ready: these get the Service's traffic. */
  readonly ready: Endpoint[];
  /** Selected, but failing their readiness check. */
  readonly notReady: Endpoint[];
}

/** The addresses of every pod the Service selects, ready ones apart, each by pod then address. */
export async function listServiceEndpoints(store: Store, service: Service): Promise<ServiceEndpoints> {
  const { pods } = await listPodRecords(store);
  return {
    ready: endpointsOf(service, pods).sort(byPodThenIp),
    notReady: notReadyEndpointsOf(service, pods).sort(byPodThenIp),
  };
}
