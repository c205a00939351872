/** The podnet command line: one file per subcommand, routed from here. */
import { CniError } from "../cni/errors.ts";
import { parseArgs, UsageError } from "./args.ts";
import { CONFLIST_USAGE, cniConflistCommand } from "./cni-conflist.ts";
import { installCniCommand } from "./install-cni.ts";
import { labCommand } from "./lab.ts";
import { PLAN_USAGE, planCommand } from "./plan.ts";

const VERSION = "0.1.0";

const USAGE = `podnet ${VERSION} — a Kubernetes-style pod network

usage:
  podnet lab up|status|check|down|exec POD -- CMD...   a cluster in network namespaces on this machine
  podnet install-cni [--bin-dir DIR]                   install the CNI plugin (podnet, podnet-ipam)
  podnet agent --datastore SPEC [--node-name N] [--backend host-gw|vxlan|auto|bgp] [--cluster-cidr CIDR] ...
                                                       the node agent (podnet agent --help for all options)
  podnet ipam show|check --datastore SPEC [--json]       cluster-wide allocations, leaks and duplicates
  podnet cluster show|add-cidr CIDR --datastore SPEC     the cluster's address plan; add a pod range
  podnet service create|delete|show|list --datastore SPEC  Services and their endpoints (service --help)
  podnet explain ADDRESS[:PORT] --datastore SPEC [--json]  what an address is, who gave it out, does every node agree
  podnet trace SOURCE DESTINATION[:PORT][/tcp|udp|icmp] --datastore SPEC [--json] [--no-probe]
                                                       the path a packet takes: predicted, and observed with a real packet
  podnet ui --datastore SPEC [--listen ADDR:PORT] [--token T | --token-file PATH] [--router NAME=IP[,IP...]]...
                                                       a live map of the cluster in the browser (127.0.0.1:7474)
  podnet probe --to IP [--port N] --proto tcp|udp|icmp  one connection or datagram, as trace's probe (JSON out)
  ${CONFLIST_USAGE}
  ${PLAN_USAGE}
  podnet version

Executed with CNI_COMMAND set, podnet is the CNI plugin (and podnet-ipam the IPAM plugin).`;

export async function runCli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      case "version":
      case "--version":
        console.log(VERSION);
        return 0;
      case "install-cni":
        return installCniCommand(parseArgs(rest));
      case "cni": {
        const [sub, ...more] = rest;
        if (sub !== "conflist") throw new UsageError(`usage: ${CONFLIST_USAGE}`);
        return cniConflistCommand(parseArgs(more));
      }
      case "agent": {
        // Loaded on demand: the datastore clients are heavy, and the lab's probes run this CLI often.
        const { agentCommand } = await import("./agent.ts");
        return await agentCommand(parseArgs(rest, ["help"]));
      }
      case "cluster": {
        const { clusterCommand } = await import("./cluster.ts");
        return await clusterCommand(rest, (a) => parseArgs(a, ["json"]));
      }
      case "service": {
        const { serviceCommand } = await import("./service.ts");
        return await serviceCommand(rest, (a) => parseArgs(a, ["json", "help"]));
      }
      case "ipam": {
        const { ipamCommand } = await import("./ipam.ts");
        return await ipamCommand(rest, (a) => parseArgs(a, ["json"]));
      }
      case "explain": {
        const [{ explainCommand }, { EXPLAIN_SWITCHES }] = await Promise.all([
          import("./explain.ts"),
          import("./diagnosis-args.ts"),
        ]);
        return await explainCommand(rest, (a) => parseArgs(a, EXPLAIN_SWITCHES));
      }
      case "trace": {
        const [{ traceCommand }, { TRACE_SWITCHES }] = await Promise.all([
          import("./trace.ts"),
          import("./diagnosis-args.ts"),
        ]);
        return await traceCommand(rest, (a) => parseArgs(a, TRACE_SWITCHES));
      }
      case "ui": {
        const { uiCommand, UI_SWITCHES } = await import("./ui.ts");
        return await uiCommand(rest, (a) => parseArgs(a, UI_SWITCHES));
      }
      case "probe": {
        const { probeCommand } = await import("./probe.ts");
        return await probeCommand(rest);
      }
      case "lab":
        return await labCommand(rest);
      case "plan":
        return planCommand(parseArgs(rest, ["json"]));
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`podnet: ${e.message}`);
      return 2;
    }
    if (e instanceof CniError || e instanceof Error) {
      console.error(`podnet: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
