/**
 * The command lines the diagnosis benchmark times (pure): podnet's explain, trace and probe as an
 * operator runs them on a node, and the anchor — what a person runs by hand to learn what explain
 * tells, done by a script: every node's addresses, routes, neighbours, VXLAN FDB, proxy table and
 * conntrack, and the datastore's IPAM and Services once.
 */
import { VXLAN_DEV } from "../../src/agent/vxlan-device.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { DiagnosisSubjects, ExplainSubject, TraceSubject } from "./subjects.ts";

/** One command of the anchor: what it reads (the same label on every node) and its argv. */
export interface AnchorStep {
  readonly label: string;
  readonly node?: string;
  readonly argv: readonly string[];
}

type Lab = Pick<DiagnosisSubjects, "datastore" | "askingNetns" | "nodes" | "source">;

/** `podnet explain ADDRESS --datastore SPEC --json` inside the asking node. */
export function explainArgv(exe: string, lab: Lab, subject: ExplainSubject): string[] {
  return inNetns(lab.askingNetns, [exe, "explain", subject.address, "--datastore", lab.datastore, "--json"]);
}

/** `podnet trace SOURCE ADDRESS:PORT --datastore SPEC --json [--no-probe]` inside the asking node. */
export function traceArgv(exe: string, lab: Lab, subject: TraceSubject, verified: boolean): string[] {
  return inNetns(lab.askingNetns, [
    exe,
    "trace",
    lab.source.ref,
    `${subject.address}:${subject.port}`,
    "--datastore",
    lab.datastore,
    "--json",
    ...(verified ? [] : ["--no-probe"]),
  ]);
}

/** The bare connection: the probe trace sends, from the source pod's namespace, without any verification. */
export function probeArgv(exe: string, lab: Lab, subject: TraceSubject): string[] {
  return inNetns(lab.source.netns, [
    exe,
    "probe",
    "--to",
    subject.address,
    "--port",
    String(subject.port),
    "--proto",
    "tcp",
  ]);
}

/** Per node, in this order; then the datastore reads. */
const NODE_READS: readonly { readonly label: string; readonly argv: readonly string[] }[] = [
  { label: "ip -d addr", argv: ["ip", "-j", "-d", "addr", "show"] },
  { label: "ip route", argv: ["ip", "-j", "route", "show"] },
  { label: "ip neigh", argv: ["ip", "-j", "neigh", "show"] },
  { label: "bridge fdb", argv: ["bridge", "-j", "fdb", "show", "dev", VXLAN_DEV] },
  // The whole ip family: the proxy's table is live as `podnet` or `podnet-b` (a full sync swaps
  // them, linux/nft-table-family.ts), and one read shows it whichever it is.
  { label: "nft list ruleset ip", argv: ["nft", "-j", "list", "ruleset", "ip"] },
  { label: "conntrack -L", argv: ["conntrack", "-L"] },
];

/** The anchor's commands, to run one after another: every node's kernel, then the datastore once. */
export function anchorSteps(exe: string, lab: Lab): AnchorStep[] {
  const kernel = lab.nodes.flatMap((n) =>
    NODE_READS.map((r) => ({ label: r.label, node: n.name, argv: inNetns(n.netns, r.argv) })),
  );
  const datastore = (label: string, args: readonly string[]): AnchorStep => ({
    label,
    argv: inNetns(lab.askingNetns, [exe, ...args, "--datastore", lab.datastore, "--json"]),
  });
  return [
    ...kernel,
    datastore("podnet ipam show", ["ipam", "show"]),
    datastore("podnet service list", ["service", "list"]),
  ];
}
