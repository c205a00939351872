/**
 * `podnet lab ui`: the live map (`podnet ui`) of the lab, with the lab's external host drawn as a
 * host outside the cluster.
 *
 * Where the server runs depends on where the lab's datastore is reachable:
 * - SQLite (the default): the database is a file, so the server runs right here, in the root
 *   namespace, where the browser is. Diagnosis (explain, trace, facts) goes through the datastore
 *   too, so nothing else needs the underlay.
 * - The lab's etcd: reachable only on the underlay. The server runs inside node1's namespace (a
 *   hidden `lab ui-serve`, listening on that namespace's 127.0.0.1), and this process relays every
 *   TCP connection it accepts on 127.0.0.1 of the root namespace into it: one `lab tcp-pipe`
 *   process per connection (at most RELAY_MAX_PIPES at once), started in node1's namespace,
 *   copying bytes both ways. The relay only listens on loopback, since the token rule is the inner
 *   server's and that one sees loopback only. The relay binds first; the inner server takes the
 *   same port number in node1 (so `--listen 127.0.0.1:0` works), and ends with its stdin, which
 *   this process holds, so a killed `lab ui` does not leave it behind.
 *
 * Either way `lab ui` stops when its lab goes down (checked every second).
 */

import { untilSignal } from "../daemon/until-signal.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { formatPrefix, nthIP, parseInterfaceCIDR } from "../ipnet/prefix.ts";
import { inNetns } from "../linux/netns.ts";
import type { ListenAddress } from "../ui/listen-address.ts";
import { isLoopback, parseListenAddress } from "../ui/listen-address.ts";
import type { MapHost, NamedRouter } from "../ui/map-types.ts";
import { startUiServer } from "../ui/ui-server.ts";
import type { LabState } from "./lab-state.ts";
import { externalAddresses, labCli } from "./lab-state.ts";
import { startPipeRelay } from "./pipe-relay.ts";
import { untilLabGone, untilStdinEnds } from "./until-lab-gone.ts";

export class LabUiError extends Error {
  override readonly name = "LabUiError";
}

export const LAB_UI_DEFAULT_LISTEN = "127.0.0.1:7474";

/** The hosts outside the cluster the lab's map shows (pure), with their subnet. */
export function labUiHosts(state: Pick<LabState, "external">): MapHost[] {
  const { ip, prefix } = parseInterfaceCIDR(state.external.address);
  return [
    {
      name: "external",
      ip: formatIP(ip),
      note: "the lab's host outside the cluster (runs the echo server on TCP and UDP 8080)",
      cidr: formatPrefix(prefix),
    },
  ];
}

/**
 * The lab's one router (pure): its addresses on every node's segment (the nodes' gateways, one per
 * lab family) and on the external host's, which are that segment's first addresses, as topology.ts
 * gives every segment. The map draws the external host by its primary address (`labUiHosts`).
 */
export function labUiRouters(state: Pick<LabState, "nodes" | "external">): NamedRouter[] {
  const gateways = state.nodes
    .flatMap((n) => n.gateways ?? [n.gateway])
    .map((g) => tryParseIP(g))
    .filter((ip) => ip !== undefined)
    .map(formatIP);
  const external = externalAddresses(state).map((a) => formatIP(nthIP(parseInterfaceCIDR(a).prefix, 1n)));
  return [
    {
      name: "router",
      addresses: [...new Set([...gateways, ...external])],
      note: "the lab's router: joins the nodes' segments and the external host's",
    },
  ];
}

/** Whether the lab's datastore is reachable from the root namespace (a file), or only from the nodes. */
export function datastoreIsLocal(state: Pick<LabState, "datastore">): boolean {
  return state.datastore.startsWith("sqlite:");
}

export interface LabUiOptions {
  readonly listen?: string;
  readonly token?: string;
}

/**
 * Serves the map in this process until SIGINT/SIGTERM, until the lab goes down (or another lab
 * replaced it), or until `until` resolves (the SQLite case, and `lab ui-serve`).
 */
async function serveHere(
  state: LabState,
  listen: ListenAddress,
  token: string | undefined,
  until: Promise<unknown> = new Promise(() => {}),
): Promise<number> {
  const server = await startUiServer({
    datastore: state.datastore,
    hostname: listen.hostname,
    port: listen.port,
    ...(token !== undefined ? { token } : {}),
    hosts: labUiHosts(state),
    routers: labUiRouters(state),
  });
  const lab = untilLabGone(state.id);
  try {
    console.log(`podnet lab ui: the map of lab ${state.id} at ${server.url}`);
    console.log("stop with Ctrl-C (it also stops when the lab goes down)");
    const why = await Promise.race([untilSignal(), lab.gone.then(() => "gone" as const), until]);
    if (why === "gone") console.log(`podnet lab ui: lab ${state.id} is down; stopping`);
  } finally {
    lab.stop();
    await server.stop();
  }
  return 0;
}

/** `http://HOST:PORT/` with an IPv6 host in brackets. */
function urlOf(hostname: string, port: number): string {
  return `http://${hostPort(hostname, port)}/`;
}

/**
 * Relays connections on HOST:PORT of the root namespace into node1's 127.0.0.1 on the same port.
 * The relay binds first, so with port 0 the port it got is the one the inner server takes too.
 */
async function serveThroughNode(state: LabState, listen: ListenAddress): Promise<number> {
  const node = state.nodes[0];
  if (!node) throw new LabUiError("the lab has no node to run the map server in");
  if (!isLoopback(listen.hostname))
    throw new LabUiError(
      `--listen ${listen.hostname}: with the lab's etcd the map is served through a relay on loopback only (the server runs in ${node.name}'s namespace, where the etcd is reachable)`,
    );
  let port = listen.port;
  const relay = startPipeRelay(listen.hostname, listen.port, () =>
    Bun.spawn(inNetns(node.netns, [labCli(state), "lab", "tcp-pipe", `127.0.0.1:${port}`]), {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
    }),
  );
  port = relay.port;
  const lab = untilLabGone(state.id);
  let inner: Bun.Subprocess<"pipe", "pipe", "inherit"> | undefined;
  try {
    // Its stdin stays open and unwritten: when this process dies, it ends, and the server stops.
    inner = Bun.spawn(
      inNetns(node.netns, [labCli(state), "lab", "ui-serve", "--listen", `127.0.0.1:${port}`]),
      {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    const reader = inner.stdout.getReader();
    let printed = "";
    while (!printed.includes("\n")) {
      const chunk = await reader.read();
      if (chunk.done)
        throw new LabUiError(`the map server in ${node.name} exited: ${printed.trim() || "no output"}`);
      printed += new TextDecoder().decode(chunk.value);
    }
    // The rest of what it prints is not needed here; keep its pipe from filling up.
    void (async () => {
      while (!(await reader.read()).done) {}
    })().catch(() => {});
    console.log(
      `podnet lab ui: the map of lab ${state.id} at ${urlOf(listen.hostname, port)} (served from ${node.name}, relayed)`,
    );
    console.log("stop with Ctrl-C (it also stops when the lab goes down)");
    const why = await Promise.race([untilSignal(), inner.exited, lab.gone.then(() => "gone" as const)]);
    if (why === "gone") console.log(`podnet lab ui: lab ${state.id} is down; stopping`);
  } finally {
    lab.stop();
    relay.stop();
    if (inner !== undefined) {
      inner.kill("SIGTERM");
      await inner.exited;
    }
  }
  return 0;
}

export async function labUi(state: LabState, options: LabUiOptions): Promise<number> {
  const listen = parseListenAddress(options.listen ?? LAB_UI_DEFAULT_LISTEN);
  if (datastoreIsLocal(state)) return await serveHere(state, listen, options.token);
  if (options.token !== undefined)
    throw new LabUiError(
      "a token (--token, --token-file or PODNET_UI_TOKEN): with the lab's etcd the map is served on loopback only, without a token",
    );
  return await serveThroughNode(state, listen);
}

/** `lab ui-serve` (hidden): the server itself, inside node1's namespace (the etcd case). */
export async function labUiServe(state: LabState, listen: string): Promise<number> {
  return await serveHere(state, parseListenAddress(listen), undefined, untilStdinEnds());
}
