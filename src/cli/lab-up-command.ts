/** `podnet lab up`: its flags (or a cluster file), then the lab's status and Services. */
import { readFileSync } from "node:fs";
import type { Backend } from "../cluster/node-record.ts";
import { BACKENDS } from "../cluster/node-record.ts";
import { parseClusterFile } from "../lab/cluster-file.ts";
import { IP_FAMILY_FLAGS, isIpFamilyFlag } from "../lab/lab-families.ts";
import { listLabServices } from "../lab/lab-services.ts";
import { externalAddresses } from "../lab/lab-state.ts";
import { type LabOptions, labUp } from "../lab/lab-up.ts";
import { MAX_LAB_NODES } from "../lab/topology.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";
import { formatBgpExtras, formatServices, formatStatus } from "./lab-status-table.ts";

function intFlag(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} "${text}" must be an integer from ${min} to ${max}`);
  return n;
}

/**
 * The lab's options from the flags and the cluster file (-f, read with `readFile`), checked before
 * anything runs. --ip-family sets the families over the file's `ipFamily`; the file's cluster and
 * service CIDRs, when it lists any, must then cover exactly those families (parseClusterFile says
 * so), and without them the lab's defaults of those families apply.
 */
export function labUpOptions(
  args: ParsedArgs,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): LabOptions {
  assertKnownFlags(args, [
    "nodes",
    "pods",
    "backend",
    "mode",
    "datastore",
    "file",
    "resync-seconds",
    "ip-family",
  ]);
  const familyFlag = flag(args, "ip-family");
  if (familyFlag !== undefined && !isIpFamilyFlag(familyFlag))
    throw new UsageError(`--ip-family "${familyFlag}" must be one of ${IP_FAMILY_FLAGS.join(", ")}`);
  const filePath = flag(args, "file");
  const file = filePath
    ? parseClusterFile(readFile(filePath), familyFlag ? { ipFamily: familyFlag } : {})
    : undefined;
  const ipFamily = familyFlag ?? file?.ipFamily ?? "ipv4";
  const mode = flag(args, "mode") ?? file?.mode ?? "bridge";
  if (mode !== "bridge" && mode !== "ptp") throw new UsageError(`--mode "${mode}" must be bridge or ptp`);
  const backend = flag(args, "backend") ?? file?.backend ?? "auto";
  if (!BACKENDS.includes(backend as Backend))
    throw new UsageError(`--backend "${backend}" must be one of ${BACKENDS.join(", ")}`);
  const datastore = flag(args, "datastore") ?? file?.datastore ?? "sqlite";
  if (datastore !== "sqlite" && datastore !== "etcd")
    throw new UsageError(`--datastore "${datastore}" must be sqlite or etcd`);
  if (file && flag(args, "nodes") !== undefined)
    throw new UsageError("--nodes and -f cannot be combined: the file lists the nodes");
  return {
    nodes: intFlag(args, "nodes", 3, 1, MAX_LAB_NODES),
    podsPerNode: intFlag(args, "pods", file?.podsPerNode ?? 2, 1, 26),
    backend: backend as Backend,
    mode,
    datastore,
    ipFamily,
    resyncSeconds: intFlag(args, "resync-seconds", 5, 1, 3600),
    ...(file ? { topology: file.topology } : {}),
    ...(file?.clusterCidrs ? { clusterCidrs: file.clusterCidrs } : {}),
    ...(file?.serviceCidrs ? { serviceCidrs: file.serviceCidrs } : {}),
  };
}

export async function labUpCommand(args: ParsedArgs): Promise<number> {
  const options = labUpOptions(args);
  const { ipFamily = "ipv4", backend, mode } = options;
  const started = performance.now();
  const state = await labUp(options);
  console.log(
    `lab ${state.id} is up (${state.nodes.length} nodes, ${state.pods.length} pods, ${ipFamily === "ipv4" ? "" : `${ipFamily}, `}${backend} backend, ${mode} mode, datastore ${state.datastore}) in ${Math.round(performance.now() - started)} ms\n`,
  );
  console.log(formatStatus(state));
  if (state.router || state.vpcHost) console.log(`\n${await formatBgpExtras(state)}`);
  console.log(`\n${formatServices(await listLabServices(state), externalAddresses(state))}`);
  console.log(
    `\nnext: podnet lab check | podnet lab exec ${state.pods[0]?.name ?? "POD"} -- getent hosts echo | podnet lab down`,
  );
  return 0;
}
