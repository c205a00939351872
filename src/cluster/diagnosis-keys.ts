/** The keys of diagnosis records (diagnosis-protocol.ts): what a key names, and checks that a record matches its key. */
import type { Checker } from "./diagnosis-checker.ts";
import { DIAGNOSIS_ANSWERS_PREFIX, DIAGNOSIS_ID, DIAGNOSIS_REQUESTS_PREFIX } from "./diagnosis-protocol.ts";
import { NODE_NAME } from "./node-record.ts";

export type DiagnosisKeyPart =
  | { readonly id: string; readonly part: "request" | "go" | "probe" }
  | { readonly id: string; readonly part: "facts" | "armed" | "observed"; readonly node: string };

/**
 * What a key under DIAGNOSIS_REQUESTS_PREFIX or DIAGNOSIS_ANSWERS_PREFIX names, or undefined for
 * anything else (a bad id or node, a signal under answers/ or an answer under requests/).
 */
export function parseDiagnosisKey(key: string): DiagnosisKeyPart | undefined {
  if (key.startsWith(DIAGNOSIS_REQUESTS_PREFIX)) {
    const parts = key.slice(DIAGNOSIS_REQUESTS_PREFIX.length).split("/");
    const [id, part] = parts;
    if (id === undefined || !DIAGNOSIS_ID.test(id)) return undefined;
    if (parts.length === 2 && (part === "request" || part === "go" || part === "probe")) return { id, part };
    return undefined;
  }
  if (!key.startsWith(DIAGNOSIS_ANSWERS_PREFIX)) return undefined;
  const parts = key.slice(DIAGNOSIS_ANSWERS_PREFIX.length).split("/");
  const [id, part, node] = parts;
  if (id === undefined || !DIAGNOSIS_ID.test(id)) return undefined;
  if (
    parts.length === 3 &&
    (part === "facts" || part === "armed" || part === "observed") &&
    node !== undefined &&
    NODE_NAME.test(node)
  )
    return { id, part, node };
  return undefined;
}

export function checkKeyId(c: Checker, id: string): void {
  const named = parseDiagnosisKey(c.key);
  if (named !== undefined && named.id !== id)
    throw c.fail("id", `is "${id}" but the key names "${named.id}"`);
}

export function checkKeyNode(c: Checker, node: string): void {
  const named = parseDiagnosisKey(c.key);
  if (named !== undefined && "node" in named && named.node !== node)
    throw c.fail("node", `is "${node}" but the key names "${named.node}"`);
}
