/**
 * Each node's BGP sessions in the datastore (`/podnet/bgp-status/NODE`), for `podnet cluster
 * bgp show`: the agent writes its record when a session changes state (not at every poll), under
 * its node lease so a dead node's record goes with it. Apart from the peering config, which
 * operators write and agents only read.
 */
import type { Store } from "../store/store.ts";
import { BGP_STATUS_PREFIX } from "./keys.ts";
import { NODE_NAME } from "./node-record.ts";

/** What an agent tells of one session of its node's BIRD: the record's and the diagnosis facts' common part. */
export interface BgpSessionState {
  /** The peer's name in the BgpConfig. */
  readonly peer: string;
  readonly neighbor: string;
  /** The BGP state (Idle, Connect, Active, OpenSent, OpenConfirm, Established) or "unknown". */
  readonly state: string;
  /** ISO 8601: when the session entered that state. */
  readonly since?: string;
  /** Routes learned from the peer and announced to it, over all families. */
  readonly received: number;
  readonly advertised: number;
  readonly lastError?: string;
}

export interface BgpSessionRecord extends BgpSessionState {
  readonly localAsNumber: number;
  readonly asNumber: number;
}

export interface BgpStatusRecord {
  readonly node: string;
  /** ISO 8601: when the agent wrote the record. */
  readonly updatedAt: string;
  /** Whether the node's BIRD runs. */
  readonly running: boolean;
  readonly routerId?: string;
  /** The blocks the node announces. */
  readonly announced: readonly string[];
  readonly sessions: readonly BgpSessionRecord[];
  readonly lastError?: string;
}

export class InvalidBgpStatusRecordError extends Error {
  override readonly name = "InvalidBgpStatusRecordError";
  constructor(key: string, reason: string) {
    super(`BGP status record ${key}: ${reason}`);
  }
}

export function bgpStatusKey(node: string): string {
  return `${BGP_STATUS_PREFIX}${node}`;
}

type Check = (value: unknown) => boolean;
const isString: Check = (v) => typeof v === "string";
const isCount: Check = (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function fieldProblem(
  record: Record<string, unknown>,
  fields: Record<string, [Check, "required" | "optional"]>,
  path: string,
): string | undefined {
  for (const [name, [check, need]] of Object.entries(fields)) {
    const value = record[name];
    if (value === undefined ? need === "required" : !check(value))
      return `${path}${name} is missing or malformed`;
  }
  return undefined;
}

const RECORD_FIELDS: Record<string, [Check, "required" | "optional"]> = {
  node: [(v) => typeof v === "string" && NODE_NAME.test(v), "required"],
  updatedAt: [isString, "required"],
  running: [(v) => typeof v === "boolean", "required"],
  routerId: [isString, "optional"],
  announced: [(v) => Array.isArray(v) && v.every(isString), "required"],
  sessions: [Array.isArray, "required"],
  lastError: [isString, "optional"],
};

const SESSION_FIELDS: Record<string, [Check, "required" | "optional"]> = {
  peer: [isString, "required"],
  neighbor: [isString, "required"],
  localAsNumber: [isCount, "required"],
  asNumber: [isCount, "required"],
  state: [isString, "required"],
  since: [isString, "optional"],
  received: [isCount, "required"],
  advertised: [isCount, "required"],
  lastError: [isString, "optional"],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The record's shape, checked: any problem makes the whole record invalid, never half-used. */
export function parseBgpStatusRecord(key: string, text: string): BgpStatusRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidBgpStatusRecordError(key, "is not JSON");
  }
  if (!isObject(raw)) throw new InvalidBgpStatusRecordError(key, "is not a JSON object");
  const problem =
    fieldProblem(raw, RECORD_FIELDS, "") ??
    (raw.sessions as unknown[])
      .map((s, i) =>
        isObject(s) ? fieldProblem(s, SESSION_FIELDS, `sessions[${i}].`) : `sessions[${i}] is not an object`,
      )
      .find((p) => p !== undefined);
  if (problem) throw new InvalidBgpStatusRecordError(key, problem);
  const record = raw as unknown as BgpStatusRecord;
  if (bgpStatusKey(record.node) !== key)
    throw new InvalidBgpStatusRecordError(
      key,
      `describes node "${record.node}", which belongs under another key`,
    );
  return record;
}

/** Publishes the node's record; with `leaseId` (the node's lease) it goes when the node does. */
export async function putBgpStatusRecord(
  store: Store,
  record: BgpStatusRecord,
  leaseId?: string,
): Promise<void> {
  const key = bgpStatusKey(record.node);
  const text = JSON.stringify(record);
  parseBgpStatusRecord(key, text);
  await store.put(key, text, leaseId === undefined ? {} : { lease: leaseId });
}

export async function deleteBgpStatusRecord(store: Store, node: string): Promise<void> {
  await store.delete(bgpStatusKey(node));
}

export interface BgpStatusList {
  /** By node name. */
  readonly records: BgpStatusRecord[];
  /** Records that could not be read, with the reason. */
  readonly invalid: string[];
}

export async function listBgpStatusRecords(store: Store): Promise<BgpStatusList> {
  const { kvs } = await store.list(BGP_STATUS_PREFIX);
  const records: BgpStatusRecord[] = [];
  const invalid: string[] = [];
  for (const kv of kvs) {
    try {
      records.push(parseBgpStatusRecord(kv.key, kv.value));
    } catch (e) {
      if (!(e instanceof InvalidBgpStatusRecordError)) throw e;
      invalid.push(e.message);
    }
  }
  records.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return { records, invalid };
}
