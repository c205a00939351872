/**
 * Whose attachment an ADD makes, for Service endpoints: the Kubernetes namespace and pod name from
 * CNI_ARGS (K8S_POD_NAMESPACE / K8S_POD_NAME, as Kubernetes runtimes pass them) and labels from
 * the network config's `args.cni.labels` (CNI CONVENTIONS, "args in network config"), and its
 * readiness check from `args.podnet.readiness` (pod-readiness.ts). Read before
 * anything is allocated: a pod that could not be recorded is refused whole, not attached half.
 */

import { CniError, ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import { invalid, requireArray, requireRecord, type ShapeContext } from "../cni/shape.ts";
import { labelKeyProblem, labelValueProblem, namespaceProblem, podNameProblem } from "../k8s/names.ts";
import type { PodIdentity } from "../node-state/node-state.ts";
import { parsePodReadiness } from "./pod-readiness.ts";

/** Where a pod without K8S_POD_NAMESPACE lives, as in Kubernetes. */
export const DEFAULT_NAMESPACE = "default";
/** Prefix of the names given to containers that came without K8S_POD_NAME. */
export const DERIVED_NAME_PREFIX = "ctr-";
/** Characters of the container ID a derived name shows (a Docker short ID is this long). */
const SHORT_ID = 12;

const CONFIG: ShapeContext = { where: "network configuration", code: ErrorCode.InvalidNetworkConfig };

/**
 * A pod name for a container the runtime did not name: `ctr-` and the container ID when that is
 * already a short lowercase DNS label, otherwise `ctr-`, the first 12 characters of the ID
 * (lowercased, other characters as "-") and a hash of the whole ID — the prefix alone would
 * merge two containers whose IDs share it (`test-pod-1`, `test-pod-2`...) into one pod.
 */
export function derivedPodName(containerId: string): string {
  const plain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  if (plain.test(containerId) && DERIVED_NAME_PREFIX.length + containerId.length <= 63)
    return DERIVED_NAME_PREFIX + containerId;
  const short = containerId
    .toLowerCase()
    .slice(0, SHORT_ID)
    .replace(/[^a-z0-9]/g, "-")
    .replace(/-+$/, "");
  // Bun's hasher rather than node:crypto, whose module costs about a millisecond to load.
  const hash = new Bun.CryptoHasher("sha256").update(containerId).digest("hex").slice(0, 8);
  return `${DERIVED_NAME_PREFIX}${short}-${hash}`;
}

/**
 * `args.cni.labels`: a list of `{"key": K, "value": V}` with Kubernetes label syntax. A key given
 * twice is refused rather than resolved, since either reading would be a guess.
 */
export function parsePodLabels(netconf: NetConf): Record<string, string> {
  const cni = netconf.args?.cni;
  if (cni === undefined || cni === null) return {};
  const list = requireRecord(CONFIG, cni, "args.cni").labels;
  if (list === undefined || list === null) return {};
  const labels: Record<string, string> = {};
  requireArray(CONFIG, list, "args.cni.labels").forEach((item, i) => {
    const field = `args.cni.labels[${i}]`;
    const entry = requireRecord(CONFIG, item, field);
    const { key, value } = entry;
    if (typeof key !== "string") throw invalid(CONFIG, `"${field}.key" must be a string`);
    if (typeof value !== "string") throw invalid(CONFIG, `"${field}.value" must be a string`);
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) throw invalid(CONFIG, `"${field}.key" ${keyProblem}`);
    const valueProblem = labelValueProblem(value);
    if (valueProblem !== undefined) throw invalid(CONFIG, `"${field}.value" ${valueProblem}`);
    if (Object.hasOwn(labels, key)) throw invalid(CONFIG, `"${field}" repeats the label key "${key}"`);
    labels[key] = value;
  });
  return labels;
}

function fromArgs(
  args: Readonly<Record<string, string>>,
  key: string,
  problemOf: (text: string) => string | undefined,
): string | undefined {
  const value = args[key];
  // An empty value says as little as no value: some runtimes send every key, filled or not.
  if (value === undefined || value === "") return undefined;
  const problem = problemOf(value);
  if (problem !== undefined)
    throw new CniError(ErrorCode.InvalidEnvironment, `Invalid CNI_ARGS: ${key} ${problem}`);
  return value;
}

/** The pod an ADD attaches; throws CNI errors 4 (bad CNI_ARGS) or 7 (bad labels or readiness check). */
export function podIdentity(
  netconf: NetConf,
  args: Readonly<Record<string, string>>,
  containerId: string,
): PodIdentity {
  const namespace = fromArgs(args, "K8S_POD_NAMESPACE", namespaceProblem) ?? DEFAULT_NAMESPACE;
  const name = fromArgs(args, "K8S_POD_NAME", podNameProblem) ?? derivedPodName(containerId);
  const readiness = parsePodReadiness(netconf);
  return { namespace, name, labels: parsePodLabels(netconf), ...(readiness ? { readiness } : {}) };
}
