/** `podnet lab ...`: build, inspect, prove and remove a cluster made of network namespaces. */

import { formatVerdict } from "../lab/claims.ts";
import { writeLabBgpConfigMain } from "../lab/lab-bgp-setup.ts";
import { labCheck } from "../lab/lab-check.ts";
import { labDown } from "../lab/lab-down.ts";
import { labRouterBirdMain } from "../lab/lab-router.ts";
import { listLabServices } from "../lab/lab-services.ts";
import { externalAddresses, requireLabState } from "../lab/lab-state.ts";
import { labTcpPipe } from "../lab/tcp-pipe.ts";
import { closeNetlinkSockets } from "../linux/ip.ts";
import { assertKnownFlags, flag, parseArgs, UsageError } from "./args.ts";
import { LAB_DIAGNOSIS_SWITCHES, labExplainCommand, labTraceCommand } from "./lab-diagnosis-commands.ts";
import { labDnsCommand, labDnsQueryCommand } from "./lab-dns-query.ts";
import { ECHO_CLIENT_SWITCHES, echoClientCommand, echoServerCommand } from "./lab-echo.ts";
import {
  labExecCommand,
  labHttpGetCommand,
  labIpamCommand,
  labMetricsCommand,
  labServiceCommand,
} from "./lab-node-commands.ts";
import { labPodCommand } from "./lab-pod-command.ts";
import { formatBgpExtras, formatServices, formatStatus } from "./lab-status-table.ts";
import { labUiCommand, labUiServeCommand } from "./lab-ui-command.ts";
import { labUpCommand } from "./lab-up-command.ts";

export const LAB_USAGE = `usage:
  podnet lab up [--nodes N] [--pods N] [--backend auto|host-gw|vxlan|bgp] [--mode bridge|ptp] [--datastore sqlite|etcd] [-f cluster.yaml]
                [--ip-family ipv4|ipv6|dual] [--resync-seconds N]
                                                 build the lab: N nodes (default 3) with an agent each,
                                                 N pods per node (default 2); the agents repair drift
                                                 every N seconds (default 5; longer keeps a fault
                                                 you inject by hand, to explain and trace it);
                                                 --ip-family: the underlay's, pods' and Services'
                                                 address families (default ipv4; dual: one address
                                                 per family, IPv4 first); --backend bgp: the router
                                                 runs BIRD and peers with every node, and a VM (a
                                                 host in the VPC outside the cluster) joins a segment
  podnet lab status                              pods with their IP, MAC and interface (bgp: the
                                                 router's BGP sessions)
  podnet lab check                               prove the IP-per-pod, Service, readiness and DNS
                                                 claims (bgp: and the BGP ones) with real packets
  podnet lab exec NAME -- CMD [ARG...]           run a command inside a pod, a node, "external",
                                                 "router" or "vm"
                                                 (pods resolve names: getent hosts echo)
  podnet lab dns POD NAME [A|AAAA|SRV|PTR|TXT]   one DNS question from inside POD, to the nameserver
                                                 of its resolv.conf (its node's DNS)
  podnet lab metrics NODE                        the node agent's Prometheus metrics
  podnet lab ipam show|check                     the cluster's allocations, as seen in its datastore
  podnet lab explain NAME|ADDRESS[:PORT] [--json]
                                                 what an address is and whether every node agrees
                                                 (NAME: a pod, a node, external, echo, no-endpoints)
  podnet lab trace SRC DST[:PORT][/tcp|udp|icmp] [--json] [--no-probe]
                                                 a packet's path, predicted and seen with a real one
  podnet lab pod add NODE NAME [--labels K=V,...] [--readiness tcp:PORT|http:PORT/PATH|none]
                                                 attach one more pod on NODE (as lab up does; labels
                                                 default to app=echo, so it joins the demo Service;
                                                 its readiness check to tcp:8080, its echo server —
                                                 which speaks no HTTP: an http check never passes)
  podnet lab pod delete NAME                     detach a pod and remove its namespace
  podnet lab service create|delete|list|show ... podnet service on the lab's datastore (same
                                                 arguments, without --datastore)
  podnet lab ui [--listen ADDR:PORT] [--token T | --token-file PATH]
                                                 the live map of the lab in a browser
                                                 (default 127.0.0.1:7474; prints the URL)
  podnet lab down                                remove everything the lab created`;

async function status(): Promise<number> {
  const state = requireLabState();
  console.log(formatStatus(state));
  if (state.router || state.vpcHost) console.log(`\n${await formatBgpExtras(state)}`);
  console.log(`\n${formatServices(await listLabServices(state), externalAddresses(state))}`);
  return 0;
}

async function check(): Promise<number> {
  const verdicts = await labCheck(requireLabState());
  for (const v of verdicts) console.log(formatVerdict(v));
  const failed = verdicts.filter((v) => !v.ok).length;
  console.log(
    failed === 0 ? `\nall ${verdicts.length} claims hold` : `\n${failed} of ${verdicts.length} claims failed`,
  );
  return failed === 0 ? 0 : 1;
}

async function down(): Promise<number> {
  const report = await labDown();
  for (const w of report.warnings) console.error(`warning: ${w}`);
  console.log(
    report.namespaces.length
      ? `removed ${report.namespaces.length} namespaces: ${report.namespaces.join(" ")}`
      : "nothing to remove",
  );
  return 0;
}

export async function labCommand(argv: readonly string[]): Promise<number> {
  try {
    // `-f FILE` is the short form of `--file FILE` (as in kubectl and docker compose).
    return await labSubcommand(argv.map((a) => (a === "-f" ? "--file" : a)));
  } finally {
    // Netlink sockets into pod namespaces keep those namespaces alive; release them.
    closeNetlinkSockets();
  }
}

function switchesOf(sub: string | undefined): readonly string[] {
  if (sub === "echo-client") return ECHO_CLIENT_SWITCHES;
  if (sub === "explain" || sub === "trace") return LAB_DIAGNOSIS_SWITCHES;
  return [];
}

async function labSubcommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  // Passed through unparsed: podnet service parses its own arguments.
  if (sub === "service") return await labServiceCommand(rest);
  const args = parseArgs(rest, switchesOf(sub));
  switch (sub) {
    case "up":
      return await labUpCommand(args);
    case "status":
      assertKnownFlags(args, []);
      return await status();
    case "check":
      assertKnownFlags(args, []);
      return await check();
    case "down":
      assertKnownFlags(args, []);
      return await down();
    case "exec":
      return await labExecCommand(args);
    case "dns":
      return await labDnsCommand(args);
    case "explain":
      return await labExplainCommand(args);
    case "trace":
      return await labTraceCommand(args);
    case "pod":
      return await labPodCommand(args);
    case "ui":
      return await labUiCommand(args);
    case "ipam":
      return await labIpamCommand(args);
    case "metrics":
      return await labMetricsCommand(args);
    // Internal: the map server inside node1 and its relay's pipes (lab ui with the lab's etcd).
    case "ui-serve":
      return await labUiServeCommand(args);
    // Internal: the lab router's BIRD supervisor (lab up starts it in the router's namespace), and
    // the BGP config lab up writes to the datastore from inside a node.
    case "router-bird": {
      assertKnownFlags(args, ["dir"]);
      const dir = flag(args, "dir");
      if (dir === undefined || args.positionals.length > 0)
        throw new UsageError("usage: podnet lab router-bird --dir LABDIR");
      return await labRouterBirdMain(dir);
    }
    case "write-bgp-config": {
      assertKnownFlags(args, ["datastore"]);
      const datastore = flag(args, "datastore");
      if (datastore === undefined || args.positionals.length > 0)
        throw new UsageError("usage: podnet lab write-bgp-config --datastore SPEC < config.json");
      await writeLabBgpConfigMain(datastore, await Bun.stdin.text());
      return 0;
    }
    case "tcp-pipe": {
      const [target] = args.positionals;
      if (target === undefined) throw new UsageError("usage: podnet lab tcp-pipe 127.0.0.1:PORT");
      return await labTcpPipe(target);
    }
    // Internal: what runs inside the pods, and what `lab metrics` runs inside a node.
    case "echo-server":
      return await echoServerCommand(args);
    case "echo-client":
      return await echoClientCommand(args);
    case "http-get":
      return await labHttpGetCommand(args);
    // Internal, and useful by hand: one DNS question from inside a pod (`lab exec POD -- …`).
    case "dns-query":
      return await labDnsQueryCommand(args);
    default:
      throw new UsageError(LAB_USAGE);
  }
}
