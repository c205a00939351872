/**
 * The lab's Services: a demo Service in front of every pod's echo server, and one without
 * endpoints. They are created with `podnet service` run inside a node namespace, exactly as an
 * operator would (the datastore may be the lab's etcd, reachable only on the underlay).
 */
import { tryParseIP } from "../ipnet/address.ts";
import type { IPFamilyPolicy, Service } from "../k8s/service-model.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { LabState } from "./lab-state.ts";
import { ECHO_PORT, labCli } from "./lab-state.ts";

/** The port clients use on the demo ClusterIP (the pods listen on ECHO_PORT). */
export const SERVICE_PORT = 80;
export const DEMO_SERVICE = "default/echo";
export const EMPTY_SERVICE = "default/no-endpoints";
/** Headless (no ClusterIP): its name resolves to the ready pods behind it. */
export const HEADLESS_SERVICE = "default/echo-headless";
export const HEADLESS_PORT_NAME = "http";
/**
 * A Service of the same name in another namespace: `echo` resolves to one or the other depending
 * on the asking pod's namespace (its search path), `echo.other` and `echo.default` to each.
 */
export const OTHER_NAMESPACE = "other";
export const OTHER_SERVICE = `${OTHER_NAMESPACE}/echo`;

export class LabServiceError extends Error {
  override readonly name = "LabServiceError";
}

/** Runs `podnet service ARGS --datastore … --json` inside the first node and parses the answer. */
async function serviceCli(state: LabState, args: readonly string[]): Promise<unknown> {
  const node = state.nodes[0];
  if (!node) throw new LabServiceError("the lab has no node to run podnet service in");
  const argv = [labCli(state), "service", ...args, "--datastore", state.datastore, "--json"];
  const r = await run(inNetns(node.netns, argv), { timeoutMs: 30_000 });
  if (r.code !== 0)
    throw new LabServiceError(
      `podnet service ${args.join(" ")} failed: ${r.stderr.trim() || `exit ${r.code}`}`,
    );
  return JSON.parse(r.stdout);
}

export interface ServiceSpec {
  readonly name: string;
  /** `--port` values, e.g. `80:8080/TCP:nodeport=auto`. */
  readonly ports: readonly string[];
  readonly selector: string;
  readonly affinity?: string;
  readonly headless?: boolean;
  /** `--ip-family-policy`; absent leaves the cluster's default (SingleStack of its primary family). */
  readonly ipFamilyPolicy?: IPFamilyPolicy;
}

export async function createService(state: LabState, spec: ServiceSpec): Promise<Service> {
  const args = ["create", spec.name, "--selector", spec.selector];
  for (const p of spec.ports) args.push("--port", p);
  if (spec.affinity) args.push("--affinity", spec.affinity);
  if (spec.headless) args.push("--headless");
  if (spec.ipFamilyPolicy) args.push("--ip-family-policy", spec.ipFamilyPolicy);
  return (await serviceCli(state, args)) as Service;
}

export async function deleteService(state: LabState, name: string): Promise<void> {
  await serviceCli(state, ["delete", name]);
}

export async function showService(state: LabState, name: string): Promise<Service> {
  return (await serviceCli(state, ["show", name])) as Service;
}

/**
 * The Services `lab up` creates, all PreferDualStack: one ClusterIP in a single-family lab, one of
 * each family in a dual one (IPv4 first, the cluster's order), with no per-family branches.
 */
export async function createLabServices(state: LabState): Promise<void> {
  await createService(state, {
    name: DEMO_SERVICE,
    ports: [
      `tcp:${SERVICE_PORT}:${ECHO_PORT}/TCP:nodeport=auto`,
      `udp:${SERVICE_PORT}:${ECHO_PORT}/UDP:nodeport=auto`,
    ],
    selector: "app=echo",
    ipFamilyPolicy: "PreferDualStack",
  });
  await createService(state, {
    name: EMPTY_SERVICE,
    ports: [`${SERVICE_PORT}:${ECHO_PORT}/TCP`],
    selector: "app=nothing-has-this-label",
    ipFamilyPolicy: "PreferDualStack",
  });
  await createService(state, {
    name: HEADLESS_SERVICE,
    ports: [`${HEADLESS_PORT_NAME}:${ECHO_PORT}/TCP`],
    selector: "app=echo",
    headless: true,
    ipFamilyPolicy: "PreferDualStack",
  });
  // No lab pod lives in namespace "other": the Service has no endpoints, but its name and
  // ClusterIP exist, which is what the cross-namespace DNS claims need.
  await createService(state, {
    name: OTHER_SERVICE,
    ports: [`${SERVICE_PORT}:${ECHO_PORT}/TCP`],
    selector: "app=echo",
    ipFamilyPolicy: "PreferDualStack",
  });
}

/** The Service's ClusterIP of family f, or an error naming the Service and the family. */
export function clusterIPOf(service: Pick<Service, "namespace" | "name" | "clusterIPs">, f: 4 | 6): string {
  const ip = service.clusterIPs.find((a) => tryParseIP(a)?.family === f);
  if (!ip) throw new LabServiceError(`Service ${service.namespace}/${service.name} has no IPv${f} ClusterIP`);
  return ip;
}

/** The NodePort of the Service's port with this protocol, or an error naming it. */
export function nodePortOf(service: Service, protocol: "TCP" | "UDP"): number {
  const port = service.ports.find((p) => p.protocol === protocol && p.nodePort !== undefined);
  if (port?.nodePort === undefined)
    throw new LabServiceError(`Service ${service.namespace}/${service.name} has no ${protocol} NodePort`);
  return port.nodePort;
}

/** An endpoint as `podnet service` lists it (`pod` is NAMESPACE/NAME). */
export interface ListedEndpoint {
  readonly ip: string;
  readonly node: string;
  readonly pod: string;
}

export interface ListedService extends Service {
  /** The ready pods the selector matches. */
  readonly endpoints: readonly ListedEndpoint[];
  /** Those whose readiness check fails (their records say ready:false). */
  readonly notReadyEndpoints?: readonly ListedEndpoint[];
}

/** Every Service with its current endpoints, as `podnet service list` sees them. */
export async function listLabServices(state: LabState): Promise<ListedService[]> {
  const out = (await serviceCli(state, ["list"])) as { services: ListedService[] };
  return out.services;
}
