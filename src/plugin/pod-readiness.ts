/**
 * A pod's readiness check, declared by the runtime in the network config's `args.podnet.readiness`
 * (CNI CONVENTIONS, "args in network config": a key of podnet's own beside `args.cni.labels`; a
 * CNI_ARGS value or a label value cannot hold a path). The shape is Kubernetes' Probe
 * (node-state/readiness-check.ts). Validated at ADD before anything is allocated, so a bad
 * declaration fails the ADD with CNI code 7 naming the field instead of a pod never checked.
 */
import { ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import { invalid, requireRecord, type ShapeContext } from "../cni/shape.ts";
import { isReadinessCheck, parseReadinessCheck, type ReadinessCheck } from "../node-state/node-state.ts";

const CONFIG: ShapeContext = { where: "network configuration", code: ErrorCode.InvalidNetworkConfig };
export const READINESS_FIELD = "args.podnet.readiness";

/** The check `args.podnet.readiness` declares, undefined when none; throws CNI error 7 for a bad one. */
export function parsePodReadiness(netconf: NetConf): ReadinessCheck | undefined {
  const podnet = netconf.args?.podnet;
  if (podnet === undefined || podnet === null) return undefined;
  const declared = requireRecord(CONFIG, podnet, "args.podnet").readiness;
  if (declared === undefined || declared === null) return undefined;
  const parsed = parseReadinessCheck(declared);
  if (isReadinessCheck(parsed)) return parsed;
  const field = parsed.field === "readiness" ? READINESS_FIELD : `${READINESS_FIELD}.${parsed.field}`;
  throw invalid(CONFIG, `"${field}" ${parsed.reason}`);
}
