/**
 * What a user may ask for when creating a Service, and the checks that turn it into a plan:
 * defaults filled in (TCP, targetPort = port, affinity timeout 3 h), every field validated, and
 * which families, ClusterIPs and NodePorts are still to be claimed. Pure: nothing here touches the store,
 * so a bad definition is refused before anything is allocated.
 *
 * A headless Service (Kubernetes' `clusterIP: None`) claims nothing: no ClusterIP, and no
 * NodePort, which would have no ClusterIP to forward to. Its ports only name what its pods serve
 * (for DNS SRV records), so it may have none, as in Kubernetes.
 */
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { labelsProblem, namespaceProblem, portNameProblem, serviceNameProblem } from "../k8s/names.ts";
import type {
  IPFamily,
  IPFamilyPolicy,
  Protocol,
  ServicePort,
  SessionAffinity,
} from "../k8s/service-model.ts";
import {
  DEFAULT_AFFINITY_TIMEOUT_SECONDS,
  NODE_PORT_MAX,
  NODE_PORT_MIN,
  PROTOCOLS,
} from "../k8s/service-model.ts";
import { ServiceValidationError } from "./service-errors.ts";
import type { PlannedClusterIP } from "./service-families.ts";
import { planFamilies } from "./service-families.ts";

export type { PlannedClusterIP } from "./service-families.ts";

export interface ServicePortInput {
  readonly name?: string;
  /** Defaults to TCP. */
  readonly protocol?: Protocol;
  readonly port: number;
  /** Defaults to `port`. */
  readonly targetPort?: number;
  /** A port from 30000–32767, or "auto" for a free one. */
  readonly nodePort?: number | "auto";
}

export type SessionAffinityInput =
  | { readonly kind: "None" }
  | { readonly kind: "ClientIP"; readonly timeoutSeconds?: number };

export interface ServiceInput {
  readonly namespace: string;
  readonly name: string;
  /** At least one, unless the Service is headless. */
  readonly ports: readonly ServicePortInput[];
  /** No ClusterIP, no NodePorts, no proxy rules: DNS answers with the ready endpoints' addresses. */
  readonly headless?: boolean;
  /**
   * Requested ClusterIPs, at most one per family (none for a headless Service); `clusterIPs[i]`
   * is of family `ipFamilies[i]`. The Service gets one ClusterIP per family it has (see
   * service-families.ts); families without a request get a free address.
   */
  readonly clusterIPs?: readonly string[];
  /** The Service's families, primary first (Kubernetes' `ipFamilies`); derived when absent. */
  readonly ipFamilies?: readonly IPFamily[];
  /** Defaults to SingleStack (RequireDualStack when two families or two ClusterIPs are given). */
  readonly ipFamilyPolicy?: IPFamilyPolicy;
  readonly selector?: Readonly<Record<string, string>>;
  /** Defaults to None. */
  readonly sessionAffinity?: SessionAffinityInput;
}

/** A validated port whose NodePort may still have to be allocated. */
export interface PlannedPort extends Omit<ServicePort, "nodePort"> {
  readonly nodePort?: number | "auto";
}

export interface ServicePlan {
  readonly namespace: string;
  readonly name: string;
  readonly headless: boolean;
  readonly ports: readonly PlannedPort[];
  /** In the order of `ipFamilies` (the first is the Service's primary family); empty for a headless Service. */
  readonly clusterIPs: readonly PlannedClusterIP[];
  readonly ipFamilies: readonly IPFamily[];
  readonly ipFamilyPolicy: IPFamilyPolicy;
  readonly sessionAffinity: SessionAffinity;
  readonly selector: Readonly<Record<string, string>>;
}

/** Kubernetes caps ClientIP affinity at one day. */
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function portNumber(service: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535)
    throw new ServiceValidationError(
      service,
      field,
      `is ${show(value)}: must be a whole number from 1 to 65535`,
    );
  return value;
}

function planPort(service: string, i: number, raw: unknown): PlannedPort {
  const field = `ports[${i}]`;
  if (!isRecord(raw)) throw new ServiceValidationError(service, field, "must be an object");
  const port = portNumber(service, `${field}.port`, raw.port);
  const targetPort =
    raw.targetPort === undefined ? port : portNumber(service, `${field}.targetPort`, raw.targetPort);
  const protocol = raw.protocol ?? "TCP";
  if (!PROTOCOLS.includes(protocol as Protocol))
    throw new ServiceValidationError(
      service,
      `${field}.protocol`,
      `is ${show(protocol)}: use ${PROTOCOLS.join(", ")}`,
    );
  let name: string | undefined;
  if (raw.name !== undefined) {
    const problem = typeof raw.name === "string" ? portNameProblem(raw.name) : "must be a string";
    if (problem !== undefined) throw new ServiceValidationError(service, `${field}.name`, problem);
    name = raw.name as string;
  }
  const nodePort = raw.nodePort;
  if (
    nodePort !== undefined &&
    nodePort !== "auto" &&
    (typeof nodePort !== "number" ||
      !Number.isInteger(nodePort) ||
      nodePort < NODE_PORT_MIN ||
      nodePort > NODE_PORT_MAX)
  )
    throw new ServiceValidationError(
      service,
      `${field}.nodePort`,
      `is ${show(nodePort)}: must be "auto" or a port from ${NODE_PORT_MIN} to ${NODE_PORT_MAX}`,
    );
  return {
    ...(name !== undefined ? { name } : {}),
    protocol: protocol as Protocol,
    port,
    targetPort,
    ...(nodePort !== undefined ? { nodePort } : {}),
  };
}

/**
 * Validates the ports of a Service: values, then that no two ports collide. A headless Service
 * may list none and may have no NodePort.
 */
export function planPorts(service: string, ports: unknown, headless = false): PlannedPort[] {
  if (!Array.isArray(ports) || (ports.length === 0 && !headless))
    throw new ServiceValidationError(service, "ports", "must list at least one port");
  const planned = ports.map((p: unknown, i) => planPort(service, i, p));
  if (headless)
    planned.forEach((p, i) => {
      if (p.nodePort !== undefined)
        throw new ServiceValidationError(
          service,
          `ports[${i}].nodePort`,
          `is ${show(p.nodePort)}: a headless Service has no NodePorts (there is no ClusterIP to forward them to)`,
        );
    });
  const names = new Map<string, number>();
  const ports_ = new Map<string, number>();
  const nodePorts = new Map<string, number>();
  planned.forEach((p, i) => {
    const clash = (seen: Map<string, number>, key: string, field: string, what: string) => {
      const other = seen.get(key);
      if (other !== undefined)
        throw new ServiceValidationError(
          service,
          `ports[${i}].${field}`,
          `${what} is already used by ports[${other}]`,
        );
      seen.set(key, i);
    };
    if (p.name !== undefined) clash(names, p.name, "name", `name ${show(p.name)}`);
    clash(ports_, `${p.port}/${p.protocol}`, "port", `${p.port}/${p.protocol}`);
    if (typeof p.nodePort === "number")
      clash(nodePorts, `${p.nodePort}/${p.protocol}`, "nodePort", `NodePort ${p.nodePort}/${p.protocol}`);
  });
  return planned;
}

export function planSelector(service: string, selector: unknown): Record<string, string> {
  if (selector === undefined) return {};
  const problem = labelsProblem(selector);
  if (problem !== undefined) throw new ServiceValidationError(service, "selector", problem);
  return { ...(selector as Record<string, string>) };
}

export function planAffinity(service: string, affinity: unknown): SessionAffinity {
  if (affinity === undefined) return { kind: "None" };
  if (!isRecord(affinity)) throw new ServiceValidationError(service, "sessionAffinity", "must be an object");
  if (affinity.kind === "None") return { kind: "None" };
  if (affinity.kind !== "ClientIP")
    throw new ServiceValidationError(
      service,
      "sessionAffinity",
      `is ${show(affinity.kind)}: use None or ClientIP`,
    );
  const t = affinity.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS)
    throw new ServiceValidationError(
      service,
      "sessionAffinity.timeoutSeconds",
      `is ${show(t)}: must be a whole number of seconds from 1 to ${MAX_AFFINITY_TIMEOUT_SECONDS}`,
    );
  return { kind: "ClientIP", timeoutSeconds: t };
}

export function planIdentity(service: string, namespace: unknown, name: unknown): void {
  const ns = typeof namespace === "string" ? namespaceProblem(namespace) : "must be a string";
  if (ns !== undefined) throw new ServiceValidationError(service, "namespace", ns);
  const n = typeof name === "string" ? serviceNameProblem(name) : "must be a string";
  if (n !== undefined) throw new ServiceValidationError(service, "name", n);
}

function planHeadless(service: string, headless: unknown, clusterIPs: unknown): boolean {
  if (headless !== undefined && typeof headless !== "boolean")
    throw new ServiceValidationError(service, "headless", `is ${show(headless)}: must be true or false`);
  if (headless === true && Array.isArray(clusterIPs) && clusterIPs.length > 0)
    throw new ServiceValidationError(
      service,
      "clusterIPs",
      `is ${clusterIPs.map(show).join(", ")}: a headless Service has no ClusterIP`,
    );
  return headless === true;
}

/** Checks everything about `input` that can be checked without the datastore. */
export function planService(input: ServiceInput, config: ClusterConfig): ServicePlan {
  const raw: unknown = input;
  if (!isRecord(raw)) throw new ServiceValidationError("?", "service", "must be an object");
  const service = `${String(raw.namespace)}/${String(raw.name)}`;
  planIdentity(service, raw.namespace, raw.name);
  const headless = planHeadless(service, raw.headless, raw.clusterIPs);
  const ports = planPorts(service, raw.ports, headless);
  const selector = planSelector(service, raw.selector);
  const families = planFamilies(service, config, {
    ipFamilyPolicy: raw.ipFamilyPolicy,
    ipFamilies: raw.ipFamilies,
    clusterIPs: raw.clusterIPs,
    headless,
    selector,
  });
  return {
    namespace: input.namespace,
    name: input.name,
    headless,
    ports,
    ...families,
    sessionAffinity: planAffinity(service, raw.sessionAffinity),
    selector,
  };
}
