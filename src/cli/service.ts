/**
 * `podnet service create|delete|list|show`: Services in the datastore, their ClusterIPs and
 * NodePorts, and the endpoints their selectors currently match — ready ones, and those failing
 * their readiness check apart. Bad values exit 1 with the reason; a malformed command line is a
 * usage error.
 */

import { unhandled } from "../base/unhandled.ts";
import { ClusterNotInitializedError, readClusterConfig } from "../cluster/cluster-config-store.ts";
import { listPodRecords, listServiceEndpoints, type ServiceEndpoints } from "../cluster/pod-records.ts";
import { ServiceNotFoundError } from "../cluster/service-errors.ts";
import { describeHeldResource } from "../cluster/service-holdings.ts";
import { createService, deleteService, getService, listServices } from "../cluster/service-store.ts";
import type { ServiceInput } from "../cluster/service-validation.ts";
import type { Service } from "../k8s/service-model.ts";
import {
  endpointsOf,
  isHeadless,
  notReadyEndpointsOf,
  ofServiceFamilies,
  serviceFamilies,
  serviceIpFamilyPolicy,
} from "../k8s/service-model.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";
import { parseServiceRef, serviceInputFromArgs, withHeadlessValue } from "./service-args.ts";
import { renderTable } from "./table.ts";

export const SERVICE_USAGE = `podnet service create NS/NAME --datastore SPEC --port [NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto] ...
         [--cluster-ip IP]... [--headless] [--selector K=V[,K=V]]... [--affinity None|ClientIP[:SECONDS]]
         [--ip-family-policy SingleStack|PreferDualStack|RequireDualStack] [--ip-family IPv4|IPv6]... [--json]
       podnet service delete|show NS/NAME --datastore SPEC [--json]
       podnet service list --datastore SPEC [--json]
A headless Service (--headless, or --cluster-ip None) has no ClusterIP, no NodePorts and no proxy
rules: its name resolves to its ready endpoints; it may have no --port.
Families follow Kubernetes: SingleStack (the default) gives one ClusterIP, of the first --ip-family
or else the cluster's first service CIDR; PreferDualStack gives both families on a dual-stack
cluster; RequireDualStack gives both or fails. --ip-family lists the families, primary first.`;

const portText = (p: Service["ports"][number]) =>
  `${p.port}${p.nodePort === undefined ? "" : `:${p.nodePort}`}/${p.protocol}`;
const selectorText = (s: Service) =>
  Object.entries(s.selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "<none>";
const affinityText = (s: Service) =>
  s.sessionAffinity.kind === "None" ? "None" : `ClientIP (${s.sessionAffinity.timeoutSeconds} s)`;

/** "IPv4,IPv6 (PreferDualStack)"; derived for records written before Services had families. */
const familiesText = (s: Service) => `${serviceFamilies(s).join(",")} (${serviceIpFamilyPolicy(s)})`;

/** The Service with its families spelled out, also for records written before they were stored. */
const withFamilies = (s: Service): Service => ({
  ...s,
  ipFamilies: serviceFamilies(s),
  ipFamilyPolicy: serviceIpFamilyPolicy(s),
});

/** The endpoints a Service has in Kubernetes: the addresses of its families only. */
async function endpointsIn(store: Store, s: Service): Promise<ServiceEndpoints> {
  const { ready, notReady } = await listServiceEndpoints(store, s);
  return { ready: ofServiceFamilies(s, ready), notReady: ofServiceFamilies(s, notReady) };
}

/** kubectl prints a headless Service's ClusterIP as "None". */
const clusterIPsText = (s: Service, separator: string) =>
  isHeadless(s) ? "None" : s.clusterIPs.join(separator);

function endpointsText(s: Service, endpoints: ServiceEndpoints): string {
  const { ready, notReady } = endpoints;
  if (ready.length === 0 && notReady.length === 0)
    return `endpoints: none (${Object.keys(s.selector).length === 0 ? "no selector" : "no pod matches"})`;
  const rows = [
    ...ready.map((e) => [e.pod, e.node, e.ip, "yes"]),
    ...notReady.map((e) => [e.pod, e.node, e.ip, "no"]),
  ];
  const table = renderTable(["ENDPOINT POD", "NODE", "IP", "READY"], rows);
  if (ready.length > 0) return table;
  // What a client sees: the proxy rejects the ClusterIP at once; DNS has no address for the name.
  const effect = isHeadless(s) ? "its name resolves to no address" : "connections to it are refused";
  return `${table}\nno endpoint is ready: ${effect}`;
}

function detail(s: Service, endpoints: ServiceEndpoints): string {
  const lines = [
    `service:          ${s.namespace}/${s.name}`,
    `cluster IPs:      ${isHeadless(s) ? "None (headless)" : clusterIPsText(s, ", ")}`,
    `families:         ${familiesText(s)}`,
    `session affinity: ${affinityText(s)}`,
    `selector:         ${selectorText(s)}`,
    "",
    s.ports.length === 0
      ? "ports: none"
      : renderTable(
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
    endpointsText(s, endpoints),
  ];
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
      if (asJson) io.out(json(withFamilies(service)));
      else
        io.out(
          `created service ${service.namespace}/${service.name}\n${detail(service, await endpointsIn(store, service))}`,
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
      const endpoints = await endpointsIn(store, service);
      io.out(
        asJson
          ? json({
              ...withFamilies(service),
              endpoints: endpoints.ready,
              notReadyEndpoints: endpoints.notReady,
            })
          : detail(service, endpoints),
      );
      return 0;
    }
    case "list": {
      const [{ services, invalid }, { pods }] = await Promise.all([
        listServices(store),
        listPodRecords(store),
      ]);
      for (const problem of invalid) io.err(`warning: ${problem}`);
      const withEndpoints = services.map((s) => ({
        ...withFamilies(s),
        endpoints: ofServiceFamilies(s, endpointsOf(s, pods)),
        notReadyEndpoints: ofServiceFamilies(s, notReadyEndpointsOf(s, pods)),
      }));
      if (asJson) io.out(json({ services: withEndpoints, invalid }));
      else
        io.out(
          renderTable(
            ["NAMESPACE", "NAME", "CLUSTER-IPS", "FAMILIES", "PORTS", "SELECTOR", "AFFINITY", "ENDPOINTS"],
            withEndpoints.map((s) => [
              s.namespace,
              s.name,
              clusterIPsText(s, ","),
              familiesText(s),
              s.ports.map(portText).join(","),
              selectorText(s),
              affinityText(s),
              s.notReadyEndpoints.length === 0
                ? String(s.endpoints.length)
                : `${s.endpoints.length} (${s.notReadyEndpoints.length} not ready)`,
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

const CREATE_FLAGS = [
  "datastore",
  "json",
  "port",
  "cluster-ip",
  "headless",
  "selector",
  "affinity",
  "ip-family-policy",
  "ip-family",
];

export async function serviceCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
  io: ServiceCommandIO = CONSOLE,
): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(withHeadlessValue(rest));
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
