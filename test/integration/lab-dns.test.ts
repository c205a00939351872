/**
 * The lab's DNS end to end with the compiled executable: pods get the resolv.conf of their CNI
 * result (and lose it with the pod), an ordinary program in a pod resolves Services and names
 * outside the cluster, and `lab check`'s DNS claims fail when DNS is broken — the external host's
 * dnsmasq stopped, or the node-local DNS address refusing queries. One 1-node lab in a lab root of
 * its own, removed at the end (also on failure).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { LabState } from "../../src/lab/lab-state.ts";
import { runSync } from "../../src/linux/exec.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../testkit/podnet-build.ts";

const labRoot = `/tmp/w2-lab-${Math.floor(Math.random() * 1_000_000)}`;
const env = { PODNET_LAB_ROOT: labRoot };

function podnet(...args: string[]) {
  return runSync([PODNET, ...args], { env, timeoutMs: 300_000 });
}

function tearDown(): void {
  podnet("lab", "down");
  rmSync(labRoot, { recursive: true, force: true });
}

const readState = () => JSON.parse(readFileSync(`${labRoot}/state.json`, "utf8")) as LabState;
const etcNetnsOf = (id: string) =>
  existsSync("/etc/netns") ? readdirSync("/etc/netns").filter((n) => n.startsWith(`pnlab-${id}-`)) : [];

const CLUSTER_CLAIMS = [
  "a pod resolves a Service by its full name",
  "a pod resolves a Service of its namespace by its short name",
  "a pod in another namespace resolves NAME.NAMESPACE",
  "the headless Service default/echo-headless resolves",
  "SRV records answer for named ports",
  "a Service created is answered, and once deleted answers NXDOMAIN",
];
const FORWARDING_CLAIM = "a pod resolves names outside the cluster (www.example.test)";

/** The lines of `lab check` about DNS claims (✓ or ✗) and its exit code. */
function checkLines(): { lines: string[]; code: number } {
  const check = podnet("lab", "check");
  return { lines: check.stdout.split("\n"), code: check.code };
}
const line = (lines: readonly string[], claim: string) =>
  lines.find((l) => l.includes(claim)) ?? `(no ${claim})`;

let undispose: () => void = () => {};
let state: LabState;

beforeAll(() => {
  ensurePodnetBuilt();
  undispose = disposeOnExit(tearDown, `removing the lab in ${labRoot}`);
  const up = podnet("lab", "up", "--nodes", "1", "--pods", "2");
  if (up.code !== 0) throw new Error(`lab up exited ${up.code}: ${up.stderr.trim()}`);
  state = readState();
});

afterAll(() => {
  tearDown();
  undispose();
});

describe("the lab's DNS", () => {
  test("every pod has the resolv.conf of its CNI result; a program in it resolves Services and outside names", () => {
    for (const pod of state.pods) {
      const conf = readFileSync(`/etc/netns/${pod.netns}/resolv.conf`, "utf8");
      expect(conf).toContain("nameserver 169.254.20.10\n");
      expect(conf).toContain("search default.svc.cluster.local svc.cluster.local cluster.local\n");
      expect(conf).toContain("options ndots:5\n");
    }
    const seen = podnet("lab", "exec", "node1-a", "--", "cat", "/etc/resolv.conf");
    expect(seen.stdout).toContain("nameserver 169.254.20.10");
    const echo = podnet("lab", "exec", "node1-a", "--", "getent", "ahostsv4", "echo");
    expect(echo.code).toBe(0);
    expect(echo.stdout).toMatch(/^10\.\d+\.\d+\.\d+\s+STREAM echo\.default\.svc\.cluster\.local/);
    const www = podnet("lab", "exec", "node1-a", "--", "getent", "ahostsv4", "www.example.test");
    expect(www.code).toBe(0);
    expect(www.stdout).toContain(state.external.address.split("/")[0] as string);
    const unknown = podnet("lab", "exec", "node1-a", "--", "getent", "ahostsv4", "nothing.example.test");
    expect(unknown.code).toBe(2);
  });

  test("a pod added later gets one too, and loses it with the pod", () => {
    expect(podnet("lab", "pod", "add", "node1", "late").code).toBe(0);
    const late = readState().pods.find((p) => p.name === "late");
    expect(existsSync(`/etc/netns/${late?.netns}/resolv.conf`)).toBe(true);
    expect(podnet("lab", "pod", "delete", "late").code).toBe(0);
    expect(existsSync(`/etc/netns/${late?.netns}`)).toBe(false);
  });

  test("every DNS claim holds on a working lab", () => {
    const { lines, code } = checkLines();
    for (const claim of [...CLUSTER_CLAIMS, FORWARDING_CLAIM]) expect(line(lines, claim)).toStartWith("✓");
    expect(code).toBe(0);
  });

  test("with the external host's dnsmasq stopped, the forwarding claim fails and the cluster's hold", () => {
    const pid = readState().external.dnsPid as number;
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toStartWith("/usr/sbin/dnsmasq\0");
    process.kill(pid, "SIGTERM");
    const { lines, code } = checkLines();
    expect(line(lines, FORWARDING_CLAIM)).toStartWith("✗");
    for (const claim of CLUSTER_CLAIMS) expect(line(lines, claim)).toStartWith("✓");
    expect(code).toBe(1);
  });

  test("with the node-local DNS address refusing queries, the cluster's DNS claims fail", () => {
    const node = state.nodes[0]?.netns as string;
    // A table of this test's own in the lab's node namespace (the agent manages only its proxy
    // table, `ip podnet` or `ip podnet-b`).
    const rules = [
      "table inet w2-dns-broken {",
      "  chain input {",
      "    type filter hook input priority -10; policy accept;",
      "    ip daddr 169.254.20.10 udp dport 53 reject",
      "    ip daddr 169.254.20.10 tcp dport 53 reject with tcp reset",
      "  }",
      "}",
    ].join("\n");
    const nft = runSync(["ip", "netns", "exec", node, "nft", "-f", "-"], { stdin: rules });
    expect(nft.stderr).toBe("");
    try {
      const { lines, code } = checkLines();
      for (const claim of CLUSTER_CLAIMS) expect(line(lines, claim)).toStartWith("✗");
      expect(code).toBe(1);
    } finally {
      runSync(["ip", "netns", "exec", node, "nft", "delete", "table", "inet", "w2-dns-broken"]);
    }
  });

  test("lab down leaves nothing of the lab under /etc/netns", () => {
    expect(etcNetnsOf(state.id).length).toBe(state.pods.length);
    expect(podnet("lab", "down").code).toBe(0);
    expect(etcNetnsOf(state.id)).toEqual([]);
  });
});
