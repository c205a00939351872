/**
 * The lab's main job end to end, one layout at a time: `podnet lab up → status → exec → check →
 * down` with the compiled executable, in a lab root of the test file's own, leaving no namespace,
 * interface or /etc/netns entry behind. Shared by the lab test files, which run in parallel.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { tryParseIP } from "../../../src/ipnet/address.ts";
import { containsIP, containsPrefix, parsePrefix } from "../../../src/ipnet/prefix.ts";
import { DNS_AAAA_CLAIM } from "../../../src/lab/dns-claims.ts";
import { READINESS_CLAIM } from "../../../src/lab/readiness-claims.ts";
import { birdsInRootNetns } from "../../../src/linux/bird-process.ts";
import { runSync } from "../../../src/linux/exec.ts";
import { listNetns } from "../../../src/linux/netns.ts";
import { ensurePodnetBuilt, PODNET } from "../../../testkit/podnet-build.ts";

export interface LabRoot {
  /** The PODNET_LAB_ROOT of this file's labs. */
  readonly root: string;
  podnet(...args: string[]): ReturnType<typeof runSync>;
  /** The id of the lab up in this root (other labs may run on the machine at the same time). */
  labId(): string;
  /** The namespaces of the lab `id`, and only of it. */
  labNamespaces(id: string): string[];
  /** What the lab `id` has under /etc/netns (its pods' resolv.conf directories). */
  etcNetnsOf(id: string): string[];
  /** The root namespace's links when the file began (nothing may be left there). */
  linksBefore(): string[];
}

function rootLinks(): string[] {
  const r = runSync(["ip", "-j", "link", "show"]);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname).sort();
}

/** A lab root for one test file: created now, its lab taken down and removed after the file. */
export function labRootForFile(prefix: string): LabRoot {
  const labRoot = mkdtempSync(`${tmpdir()}/${prefix}`);
  let before: string[] = [];
  const podnet = (...args: string[]) =>
    // A dual-stack check proves 35 claims one after another: minutes on a loaded 2-core machine.
    runSync([PODNET, ...args], { env: { PODNET_LAB_ROOT: labRoot }, timeoutMs: 420_000 });
  beforeAll(() => {
    ensurePodnetBuilt();
    before = rootLinks();
  });
  afterAll(() => {
    podnet("lab", "down");
    rmSync(labRoot, { recursive: true, force: true });
  });
  return {
    root: labRoot,
    podnet,
    labId: () => (JSON.parse(readFileSync(`${labRoot}/state.json`, "utf8")) as { id: string }).id,
    labNamespaces: (id) => listNetns().filter((n) => n.startsWith(`pnlab-${id}-`)),
    etcNetnsOf: (id) =>
      existsSync("/etc/netns") ? readdirSync("/etc/netns").filter((n) => n.startsWith(`pnlab-${id}-`)) : [],
    linksBefore: () => before,
  };
}

/** One test per layout: up, status, exec and check prove every claim; down removes everything. */
export function describeLayouts(lab: LabRoot, layouts: readonly Layout[]): void {
  for (const layout of layouts) {
    describe(`lab, ${layout.title}`, () => {
      test("up, status, exec and check prove every claim; down removes everything", () => {
        try {
          proveLayout(lab, layout);
        } finally {
          lab.podnet("lab", "down"); // a failed assertion must not leave this lab in the way of the next
        }
      }, 900_000);
    });
  }
}

export interface Layout {
  readonly title: string;
  readonly args: readonly string[];
  readonly nodes: number;
  readonly podsPerNode: number;
  /** Claims `lab check` proves for this layout. */
  readonly claims: number;
  /** How cross-node packets must travel (from the claim's evidence). */
  readonly paths: readonly string[];
  /** The pod `lab exec` is tried in (default node1-b). */
  readonly execPod?: string;
  /** Namespaces beyond the switches, router and external host (the etcd host). */
  readonly extraNamespaces?: number;
  /** The lab's address families, primary first (default IPv4 only). */
  readonly families?: readonly (4 | 6)[];
}

/** Whether text is an address (pod) or a prefix of length `length` (block) inside `range`, by value. */
function inRange(range: string, length?: number): { test(text: string): boolean } {
  const outer = parsePrefix(range);
  return {
    test(text: string): boolean {
      if (length === undefined) {
        const ip = tryParseIP(text);
        return ip !== undefined && ip.family === outer.family && containsIP(outer, ip);
      }
      try {
        const p = parsePrefix(text, { strict: true });
        return p.length === length && containsPrefix(outer, p);
      } catch {
        return false;
      }
    },
  };
}

/** What the lab's pods, blocks and claims look like in each family. */
const FAMILY = {
  4: { pod: inRange("10.244.0.0/16"), block: inRange("10.244.0.0/16", 24), ip: "-4", getent: "ahostsv4" },
  6: {
    pod: inRange("fd00:10:244::/56"),
    block: inRange("fd00:10:244::/56", 64),
    ip: "-6",
    getent: "ahostsv6",
  },
} as const;

function proveLayout(lab: LabRoot, layout: Layout): void {
  const { podnet, labId, labNamespaces, etcNetnsOf } = lab;
  {
    const up = podnet("lab", "up", ...layout.args);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    const id = labId();
    const created = labNamespaces(id);
    // 3 segment switches, a router and the external host, then the nodes and their pods.
    expect(created.length).toBe(5 + (layout.extraNamespaces ?? 0) + layout.nodes * (1 + layout.podsPerNode));

    const status = podnet("lab", "status");
    expect(status.code).toBe(0);
    const [nodeTable, podTable] = status.stdout.trim().split("\n\n") as [string, string];
    const nodeRows = nodeTable
      .split("\n")
      .slice(1)
      .map((r) => r.split(/\s+/));
    expect(nodeRows.length).toBe(layout.nodes);
    const families = layout.families ?? [4];
    const dual = families.length > 1;
    // One block per family per node, in the lab's family order ("10.244.1.0/24,fd00:10:244:1::/64").
    const blocks = nodeRows.map((c) => (c[3] as string).split(","));
    expect(new Set(blocks.map((b) => b.join(","))).size).toBe(layout.nodes);
    for (const b of blocks)
      expect(b.map((x, i) => FAMILY[families[i] as 4 | 6].block.test(x))).toEqual(families.map(() => true));
    const cells = podTable
      .split("\n")
      .slice(1)
      .map((r) => r.split(/\s+/));
    expect(cells.length).toBe(layout.nodes * layout.podsPerNode);
    const podIps = cells.map((c) => (c[2] as string).split(","));
    for (const ips of podIps)
      expect(ips.map((x, i) => FAMILY[families[i] as 4 | 6].pod.test(x))).toEqual(families.map(() => true));
    const allIps = podIps.flat();
    expect(new Set(allIps).size).toBe(allIps.length);

    // exec runs in the named pod: the eth0 it shows holds, per family, exactly the address status
    // lists for it (and none of the other pods').
    const pod = layout.execPod ?? "node1-b";
    const ipsOfPod = podIps[cells.findIndex((c) => c[1] === pod)] as string[];
    expect(ipsOfPod).toBeDefined();
    families.forEach((f, i) => {
      const exec = podnet(
        "lab",
        "exec",
        pod,
        "--",
        "ip",
        "-j",
        FAMILY[f].ip,
        "addr",
        "show",
        "dev",
        "eth0",
        "scope",
        "global",
      );
      expect(exec.code).toBe(0);
      const shown = (JSON.parse(exec.stdout) as { addr_info: { local: string }[] }[]).flatMap((l) =>
        l.addr_info.map((a) => a.local),
      );
      expect(shown).toEqual([ipsOfPod[i] as string]);
    });

    const check = podnet("lab", "check");
    expect(check.stdout).toContain(`all ${layout.claims} claims hold`);
    expect(check.stdout).not.toContain("✗");
    for (const path of layout.paths) expect(check.stdout).toContain(path);
    for (const f of families) {
      // In a dual lab every family-specific claim names its family.
      const label = dual ? ` [IPv${f}]` : "";
      // The Service and egress claims, each proved with TCP or UDP connections (service-claims.ts).
      for (const claim of SERVICE_CLAIMS) expect(check.stdout).toMatch(claimLine(claim, label));
      // A pod whose echo server (its readiness check's target) stops leaves every node's endpoints.
      expect(check.stdout).toMatch(claimLine(READINESS_CLAIM, label));
    }
    // The DNS claims, each proved with queries from inside pods (dns-claims.ts).
    for (const claim of DNS_CLAIMS) expect(check.stdout).toContain(`✓ ${claim}`);
    if (dual) expect(check.stdout).toContain(`✓ ${DNS_AAAA_CLAIM}`);
    expect(check.code).toBe(0);

    // Every pod has the resolv.conf of its CNI result, so a plain program in it resolves names:
    // the node-local DNS address of the primary family, the Service's ClusterIP of each family.
    const podNs = labNamespaces(id).find((n) => n.endsWith(`-${pod}`)) as string;
    const nameserver = families[0] === 6 ? "fd00::10" : "169.254.20.10";
    expect(readFileSync(`/etc/netns/${podNs}/resolv.conf`, "utf8")).toContain(`nameserver ${nameserver}\n`);
    for (const f of families) {
      const getent = podnet("lab", "exec", pod, "--", "getent", FAMILY[f].getent, "echo");
      expect(getent.code).toBe(0);
      expect(getent.stdout).toContain("echo.default.svc.cluster.local");
      const first = getent.stdout.split(/\s+/)[0] as string;
      expect(
        f === 6 ? first.includes(":") && !first.startsWith("::ffff:") : /^10\.\d+\.\d+\.\d+$/.test(first),
      ).toBe(true);
    }

    // The cluster's own audit agrees: every block has a live node, no duplicates, no leaks.
    const audit = podnet("lab", "ipam", "check");
    expect(audit.stdout).toContain(
      `ok: ${layout.nodes * families.length} blocks, ${layout.nodes} live nodes`,
    );
    expect(audit.code).toBe(0);

    const down = podnet("lab", "down");
    expect(down.code).toBe(0);
    expect(labNamespaces(id)).toEqual([]);
    expect(rootLinks()).toEqual(lab.linksBefore());
    expect(etcNetnsOf(id)).toEqual([]);
    expect(birdsInRootNetns()).toEqual([]); // the bgp lab's BIRDs ran in the router's and nodes' namespaces
  }
}

const DNS_CLAIMS = [
  "a pod resolves a Service by its full name (echo.default.svc.cluster.local) to its ClusterIP, through the nameserver of its CNI result",
  "a pod resolves a Service of its namespace by its short name (echo) through its search path",
  "a pod in another namespace resolves NAME.NAMESPACE to that namespace's Service and NAME to its own namespace's",
  "the headless Service default/echo-headless resolves to the addresses of its ready pods",
  "SRV records answer for named ports (of a ClusterIP and of a headless Service), PTR for a ClusterIP",
  "a pod resolves names outside the cluster (www.example.test) through its node's DNS, forwarded to the external host's dnsmasq",
  "a Service created is answered, and once deleted answers NXDOMAIN",
];

/** A ✓ line carrying the claim and, in a dual lab, its family (claims may carry evidence after the text). */
function claimLine(claim: string, label: string): RegExp {
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`✓ ${esc(claim)}.*${esc(label)}`);
}

const SERVICE_CLAIMS = [
  "a pod and a node reach the ClusterIP",
  "replies come back from the ClusterIP (conntrack undoes the DNAT), over TCP and UDP",
  "the NodePort",
  "a Service without endpoints, and a port its ClusterIP does not define, refuse connections at once",
  "a pod reaches itself through its own Service (hairpin)",
  "the external host sees a pod's request coming from its node's IP (masquerade)",
  "after a UDP backend is replaced, a UDP client keeping its source port reaches the new one",
];
