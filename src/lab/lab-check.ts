/**
 * `podnet lab check`: proves the IP-per-pod claims with real packets between the lab's pods.
 * Observations are gathered here; the verdicts come from claims.ts.
 */

import { addToIP, formatIP } from "../ipnet/address.ts";
import { firstIP, parsePrefix } from "../ipnet/prefix.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { PairProbe, ProbeOutcome, Verdict } from "./claims.ts";
import { podToPodWithoutNat, sharedLocalhost, uniquePodIps } from "./claims.ts";
import { CniRuntime } from "./cni-runtime.ts";
import type { EchoProbe } from "./echo-server.ts";
import type { LabState } from "./lab-state.ts";
import { ECHO_PORT } from "./lab-state.ts";
import { inspectPodInterface } from "./pod-inspect.ts";

const PROBE_TIMEOUT_MS = 3000;

/** Runs the echo client inside a namespace (a second process in a pod, or a node). */
export async function probeFrom(state: LabState, netns: string, host: string): Promise<ProbeOutcome> {
  const exe = `${state.binDir}/podnet`;
  const r = await run(
    inNetns(netns, [
      exe,
      "lab",
      "echo-client",
      "--host",
      host,
      "--port",
      String(ECHO_PORT),
      "--timeout",
      String(PROBE_TIMEOUT_MS),
    ]),
    {
      timeoutMs: PROBE_TIMEOUT_MS + 5000,
    },
  );
  if (r.code !== 0)
    return { kind: "error", message: (r.stderr.trim() || `exit ${r.code}`).replace(/^podnet: /, "") };
  return { kind: "reply", probe: JSON.parse(r.stdout) as EchoProbe };
}

interface PodView {
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  readonly ipv4: string | undefined;
}

async function cniCheckAll(state: LabState): Promise<Verdict> {
  const claim = "the CNI plugin's CHECK confirms every pod's interface, addresses and routes";
  const problems: string[] = [];
  for (const pod of state.pods) {
    const node = state.nodes.find((n) => n.name === pod.node);
    if (!node) continue;
    const runtime = new CniRuntime(node.conflist, { binDirs: state.cniPath, nodeNetns: node.netns });
    try {
      await runtime.check(
        { containerId: pod.containerId, ifname: pod.ifname, netnsPath: pod.netnsPath },
        pod.result,
      );
    } catch (e) {
      problems.push(`${pod.name}: ${(e as Error).message}`);
    }
  }
  return {
    ok: problems.length === 0,
    claim,
    evidence: problems.length ? problems.join("; ") : `CHECK passed for ${state.pods.length} pods`,
  };
}

export async function labCheck(state: LabState): Promise<Verdict[]> {
  const observed = state.pods.map((p) => ({ pod: p, itf: inspectPodInterface(p.netns, p.ifname) }));
  const views: PodView[] = observed.map(({ pod, itf }) => ({
    name: pod.name,
    node: pod.node,
    netns: pod.netns,
    ipv4: itf?.ipv4[0],
  }));
  const verdicts: Verdict[] = [];
  verdicts.push(
    uniquePodIps(
      observed.map(({ pod, itf }) => ({
        pod: pod.name,
        ips: itf ? [...itf.ipv4, ...itf.ipv6] : [],
        nodeCidrs: state.nodes.find((n) => n.name === pod.node)?.podCidrs ?? [],
      })),
    ),
  );

  const first = views[0];
  if (first) verdicts.push(sharedLocalhost(first.name, await probeFrom(state, first.netns, "127.0.0.1")));

  const pairs: PairProbe[] = [];
  for (const a of views) {
    for (const b of views) {
      if (a === b || !a.ipv4 || !b.ipv4) continue;
      pairs.push({
        from: a.name,
        fromIp: a.ipv4,
        to: b.name,
        toIp: b.ipv4,
        outcome: await probeFrom(state, a.netns, b.ipv4),
      });
    }
  }
  verdicts.push(
    podToPodWithoutNat("pods reach each other directly and see each other's real pod IP (no NAT)", pairs),
  );

  const nodeProbes: PairProbe[] = [];
  for (const node of state.nodes) {
    const cidr = node.podCidrs.find((c) => !c.includes(":"));
    if (!cidr) continue;
    // The node's address toward its pods is the gateway of its block (the bridge or ptp host side).
    const gateway = formatIP(addToIP(firstIP(parsePrefix(cidr)), 1n));
    for (const v of views.filter((p) => p.ipv4)) {
      nodeProbes.push({
        from: node.name,
        fromIp: gateway,
        to: v.name,
        toIp: v.ipv4 as string,
        outcome: await probeFrom(state, node.netns, v.ipv4 as string),
      });
    }
  }
  verdicts.push(podToPodWithoutNat("every node reaches every pod", nodeProbes));
  verdicts.push(await cniCheckAll(state));
  return verdicts;
}
