/**
 * `podnet service create|delete|list|show`: Services in the datastore, their ClusterIPs and
 * NodePorts, and the endpoints their selectors currently match. Bad values exit 1 with the
 * reason; a malformed command line is a usage error.
 */

import { unhandled } from "../base/unhandled.ts";
import { ClusterNotInitializedError, readClusterConfig } from "../cluster/cluster-config-store.ts";
import { listEndpoints, listPodRecords } from "../cluster/pod-records.ts";
import { ServiceNotFoundError } from "../cluster/service-errors.ts";
import { describeHeldResource } from "../cluster/service-holdings.ts";
import { createService, deleteService, getService, listServices } from "../cluster/service-store.ts";
import type { ServiceInput, ServicePortInput, SessionAffinityInput } from "../cluster/service-validation.ts";
import type { Endpoint, Service } from "../k8s/service-model.ts";
import { endpointsOf, PROTOCOLS, type Protocol } from "../k8s/service-model.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, flagList, UsageError } from "./args.ts";
import { renderTable } from "./table.ts";

export const SERVICE_USAGE = `podnet service create NS/NAME --datastore SPEC --port [NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto] ...
         [--cluster-ip IP]... [--selector K=V[,K=V]]... [--affinity None|ClientIP[:SECONDS]] [--json]
       podnet service delete|show NS/NAME --datastore SPEC [--json]
       podnet service list --datastore SPEC [--json]`;

/** A value on the command line is unusable (exit 1, unlike a malformed command line). */
export class ServiceArgumentError extends Error {
  override readonly name = "ServiceArgumentError";
}

const DIGITS = /^[0-9]{1,5}$/;

function portNumber(spec: string, what: string, text: string): number {
  const n = DIGITS.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 65535))
    throw new ServiceArgumentError(
      `--port "${spec}": ${what} "${text}" is not a port number from 1 to 65535`,
    );
  return n;
}

/** `[NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto]`, e.g. `http:80:8080/tcp:nodeport=auto`. */
export function parsePortSpec(spec: string): ServicePortInput {
  let rest = spec;
  let nodePort: number | "auto" | undefined;
  const np = /:nodeport=([^:/]*)$/i.exec(rest);
  if (np) {
    const value = np[1] ?? "";
    if (value.toLowerCase() === "auto") nodePort = "auto";
    else if (DIGITS.test(value)) nodePort = Number(value);
    else
      throw new ServiceArgumentError(`--port "${spec}": nodeport must be a number or "auto", not "${value}"`);
    rest = rest.slice(0, np.index);
  }
  let protocol: Protocol | undefined;
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const text = rest.slice(slash + 1).toUpperCase();
    if (!PROTOCOLS.includes(text as Protocol))
      throw new ServiceArgumentError(
        `--port "${spec}": protocol "${rest.slice(slash + 1)}" is not one of ${PROTOCOLS.join(", ")}`,
      );
    protocol = text as Protocol;
    rest = rest.slice(0, slash);
  }
  const parts = rest.split(":");
  let name: string | undefined;
  let port: string | undefined;
  let target: string | undefined;
  if (parts.length === 1) [port] = parts;
  else if (parts.length === 2) {
    if (DIGITS.test(parts[0] ?? "")) [port, target] = parts;
    else [name, port] = parts;
  } else if (parts.length === 3) [name, port, target] = parts;
  else throw new ServiceArgumentError(`--port "${spec}": use [NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto]`);
  if (name === "") throw new ServiceArgumentError(`--port "${spec}": the port name is empty`);
  return {
    ...(name !== undefined ? { name } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    port: portNumber(spec, "port", port ?? ""),
    ...(target !== undefined ? { targetPort: portNumber(spec, "target port", target) } : {}),
    ...(nodePort !== undefined ? { nodePort } : {}),
  };
}

/** `--selector app=web,tier=front` (repeatable); every pair must match. */
export function parseSelector(values: readonly string[]): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const pair of values.flatMap((v) => v.split(","))) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new ServiceArgumentError(`--selector "${pair}": use KEY=VALUE`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key in selector && selector[key] !== value)
      throw new ServiceArgumentError(`--selector: "${key}" is given twice with different values`);
    selector[key] = value;
  }
  return selector;
}

export function parseAffinity(text: string): SessionAffinityInput {
  const [kind, timeout, ...extra] = text.split(":");
  if (kind?.toLowerCase() === "none" && timeout === undefined) return { kind: "None" };
  if (kind?.toLowerCase() !== "clientip" || extra.length > 0)
    throw new ServiceArgumentError(`--affinity "${text}": use None, ClientIP or ClientIP:SECONDS`);
  if (timeout === undefined) return { kind: "ClientIP" };
  if (!/^[0-9]{1,9}$/.test(timeout))
    throw new ServiceArgumentError(
      `--affinity "${text}": the timeout "${timeout}" is not a number of seconds`,
    );
  return { kind: "ClientIP", timeoutSeconds: Number(timeout) };
}

/** `NAMESPACE/NAME`, or `NAME` in the "default" namespace as kubectl has it. */
export function parseServiceRef(text: string): { namespace: string; name: string } {
  const parts = text.split("/");
  if (parts.length === 1 && text !== "") return { namespace: "default", name: text };
  const [namespace, name] = parts;
  if (parts.length !== 2 || !namespace || !name)
    throw new ServiceArgumentError(`Service "${text}": use NAMESPACE/NAME`);
  return { namespace, name };
}

export function serviceInputFromArgs(ref: string, args: ParsedArgs): ServiceInput {
  const ports = flagList(args, "port");
  if (ports.length === 0) throw new ServiceArgumentError("give at least one --port");
  const affinity = flag(args, "affinity");
  const selector = flagList(args, "selector");
  const clusterIPs = flagList(args, "cluster-ip");
  return {
    ...parseServiceRef(ref),
    ports: ports.map(parsePortSpec),
    ...(clusterIPs.length > 0 ? { clusterIPs } : {}),
    ...(selector.length > 0 ? { selector: parseSelector(selector) } : {}),
    ...(affinity !== undefined ? { sessionAffinity: parseAffinity(affinity) } : {}),
  };
}

const portText = (p: Service["ports"][number]) =>
  `${p.port}${p.nodePort === undefined ? "" : `:${p.nodePort}`}/${p.protocol}`;
const selectorText = (s: Service) =>
  Object.entries(s.selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "<none>";
const affinityText = (s: Service) =>
  s.sessionAffinity.kind === "None" ? "None" : `ClientIP (${s.sessionAffinity.timeoutSeconds} s)`;

function detail(s: Service, endpoints: readonly Endpoint[]): string {
  const lines = [
    `service:          ${s.namespace}/${s.name}`,
    `cluster IPs:      ${s.clusterIPs.join(", ")}`,
    `session affinity: ${affinityText(s)}`,
    `selector:         ${selectorText(s)}`,
    "",
    renderTable(
      ["PORT NAME", "PORT", "PROTOCOL", "TARGET", "NODEPORT"],
      s.ports.map((p) => [
        p.name ?? "-",
        String(p.port),
        p.protocol,
        String(p.targetPort),
        String(p.nodePort ?? "-"),
      ]),
    ),
    "",
  ];
  if (endpoints.length === 0)
    lines.push(
      `endpoints: none (${Object.keys(s.selector).length === 0 ? "no selector" : "no pod matches"})`,
    );
  else
    lines.push(
      renderTable(
        ["ENDPOINT POD", "NODE", "IP"],
        endpoints.map((e) => [e.pod, e.node, e.ip]),
      ),
    );
  return lines.join("\n");
}

export interface ServiceCommandIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const CONSOLE: ServiceCommandIO = { out: (t) => console.log(t), err: (t) => console.error(t) };
const json = (v: unknown) => JSON.stringify(v, null, 2);

type Request =
  | { readonly sub: "create"; readonly input: ServiceInput }
  | { readonly sub: "delete" | "show"; readonly namespace: string; readonly name: string }
  | { readonly sub: "list" };

/** Everything about the command line is checked before the datastore is opened. */
function requestFrom(sub: string | undefined, args: ParsedArgs): Request {
  const [ref, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"\nusage: ${SERVICE_USAGE}`);
  switch (sub) {
    case "create":
    case "delete":
    case "show":
      if (ref === undefined) throw new UsageError(`usage: ${SERVICE_USAGE}`);
      return sub === "create"
        ? { sub, input: serviceInputFromArgs(ref, args) }
        : { sub, ...parseServiceRef(ref) };
    case "list":
      if (ref !== undefined) throw new UsageError(`unexpected argument "${ref}"\nusage: ${SERVICE_USAGE}`);
      return { sub };
    default:
      throw new UsageError(`usage: ${SERVICE_USAGE}`);
  }
}

async function run(req: Request, asJson: boolean, store: Store, io: ServiceCommandIO): Promise<number> {
  switch (req.sub) {
    case "create": {
      const config = await readClusterConfig(store);
      if (!config) throw new ClusterNotInitializedError(store.description);
      const service = await createService(store, config, req.input);
      if (asJson) io.out(json(service));
      else
        io.out(
          `created service ${service.namespace}/${service.name}\n${detail(service, await listEndpoints(store, service))}`,
        );
      return 0;
    }
    case "delete": {
      const { namespace, name } = req;
      const deleted = await deleteService(store, namespace, name);
      if (asJson) io.out(json(deleted));
      else {
        const released = deleted.released.map(describeHeldResource).join(", ");
        io.out(`deleted service ${namespace}/${name}${released ? `; released ${released}` : ""}`);
      }
      return 0;
    }
    case "show": {
      const { namespace, name } = req;
      const service = await getService(store, namespace, name);
      if (!service) throw new ServiceNotFoundError(`${namespace}/${name}`);
      const endpoints = await listEndpoints(store, service);
      io.out(asJson ? json({ ...service, endpoints }) : detail(service, endpoints));
      return 0;
    }
    case "list": {
      const [{ services, invalid }, { pods }] = await Promise.all([
        listServices(store),
        listPodRecords(store),
      ]);
      for (const problem of invalid) io.err(`warning: ${problem}`);
      const withEndpoints = services.map((s) => ({ ...s, endpoints: endpointsOf(s, pods) }));
      if (asJson) io.out(json({ services: withEndpoints, invalid }));
      else
        io.out(
          renderTable(
            ["NAMESPACE", "NAME", "CLUSTER-IPS", "PORTS", "SELECTOR", "AFFINITY", "ENDPOINTS"],
            withEndpoints.map((s) => [
              s.namespace,
              s.name,
              s.clusterIPs.join(","),
              s.ports.map(portText).join(","),
              selectorText(s),
              affinityText(s),
              String(s.endpoints.length),
            ]),
          ),
        );
      return 0;
    }
    default: {
      unhandled(req, (shown) => new Error(`unknown request ${shown}`));
    }
  }
}

const CREATE_FLAGS = ["datastore", "json", "port", "cluster-ip", "selector", "affinity"];

export async function serviceCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
  io: ServiceCommandIO = CONSOLE,
): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(rest);
  if (sub === "--help" || sub === "-h" || sub === "help" || args.flags.has("help")) {
    io.out(`usage: ${SERVICE_USAGE}`);
    return 0;
  }
  assertKnownFlags(args, sub === "create" ? CREATE_FLAGS : ["datastore", "json"]);
  const req = requestFrom(sub, args);
  const datastore = flag(args, "datastore");
  if (!datastore) throw new UsageError(`usage: ${SERVICE_USAGE}`);
  const asJson = flag(args, "json") !== undefined;
  const store = await openStore(datastore);
  try {
    return await run(req, asJson, store, io);
  } finally {
    await store.close();
  }
}
