/**
 * `podnet agent` inside a TestNode's namespace, so the plugin's operations can be served by the
 * agent (plugin/agent-protocol.ts): an uplink with a documentation address (the agent needs a
 * node IP), a SQLite datastore in the node's temp dir, the node's state dir as the agent's — the
 * dataDir of the node's conflists, where the agent's socket appears. Killed with the node.
 */
import { closeSync, existsSync, openSync } from "node:fs";
import type { Subprocess } from "bun";
import { pollUntil } from "../../../src/base/poll-until.ts";
import { agentCommandLine } from "../../../src/lab/agent-command-line.ts";
import { mustRunSync, run } from "../../../src/linux/exec.ts";
import { inNetns } from "../../../src/linux/netns.ts";
import { AGENT_SOCKET_NAME } from "../../../src/plugin/agent-protocol.ts";
import { PODNET } from "../../../testkit/podnet-build.ts";
import { metricValue } from "../../../testkit/prometheus-text.ts";
import { logTail } from "./agent-log.ts";
import type { TestNode } from "./test-node.ts";

const UPLINK = "pnup0";
const METRICS = "127.0.0.1:9464";

export interface NodeAgent {
  readonly child: Subprocess;
  readonly logPath: string;
  readonly socket: string;
}

/** Starts the agent in `n`'s namespace and waits until it serves the plugin's socket. */
export async function startNodeAgent(n: TestNode): Promise<NodeAgent> {
  if (!existsSync(`/var/run/netns/${n.netns}`)) throw new Error(`no namespace ${n.netns}`);
  const links = mustRunSync(["ip", "-n", n.netns, "-o", "link", "show"]).stdout;
  if (!links.includes(`${UPLINK}:`)) {
    // A veth pair with both ends in the node (this kernel may have no dummy driver).
    mustRunSync(["ip", "-n", n.netns, "link", "add", UPLINK, "type", "veth", "peer", "name", `${UPLINK}p`]);
    mustRunSync(["ip", "-n", n.netns, "link", "set", `${UPLINK}p`, "up"]);
    mustRunSync(["ip", "-n", n.netns, "addr", "add", "192.0.2.10/24", "dev", UPLINK]);
    mustRunSync(["ip", "-n", n.netns, "link", "set", UPLINK, "up"]);
  }
  const logPath = `${n.dir}/agent-${Date.now()}.log`;
  const argv = agentCommandLine({
    exe: PODNET,
    nodeName: "node1",
    datastore: `sqlite:${n.dir}/cluster.db`,
    backend: "host-gw",
    uplink: UPLINK,
    clusterCidrs: ["10.244.0.0/16"],
    cniConfDir: `${n.dir}/net.d`,
    network: "pntest-agent",
    stateDir: n.stateDir,
    leaseTtlSeconds: 15,
    resyncSeconds: 5,
    metricsAddr: METRICS,
    // Debug: the tests watch for "serving a plugin operation".
    extraArgs: ["--proxy", "off", "--log-level", "debug"],
  });
  const fd = openSync(logPath, "a");
  let child: Subprocess;
  try {
    child = n.adopt(Bun.spawn(inNetns(n.netns, argv), { stdin: "ignore", stdout: fd, stderr: fd }));
  } finally {
    closeSync(fd);
  }
  const socket = `${n.stateDir}/${AGENT_SOCKET_NAME}`;
  const agent = { child, logPath, socket };
  await pollUntil(
    "the agent to serve the plugin's socket",
    () => {
      if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}): ${logTail(agent)}`);
      return existsSync(socket);
    },
    15_000,
    { detail: () => logTail(agent) },
  );
  return agent;
}

/** podnet_agent_cni_operations_total{command, result} as the agent exports it (0 when absent). */
export async function agentOperations(n: TestNode, command: string, result: string): Promise<number> {
  const script = `const r = await fetch('http://${METRICS}/metrics'); if (!r.ok) process.exit(3); process.stdout.write(await r.text());`;
  const r = await run(inNetns(n.netns, [process.execPath, "-e", script]), { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`cannot fetch the agent's metrics: ${r.stderr.trim() || r.code}`);
  return (
    metricValue(r.stdout, `podnet_agent_cni_operations_total{command="${command}",result="${result}"}`) ?? 0
  );
}
