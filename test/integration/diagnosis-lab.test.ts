/**
 * `podnet lab explain` and `podnet lab trace` on the default 3-node lab (auto backend: node1 and
 * node2 share a segment and route directly, node3 sits behind the router and is reached through
 * VXLAN). Each test asserts the facts of the JSON answer (schemas in docs/explain-json.md and
 * docs/trace-json.md), not its wording: what an address is and who holds it, the path a real
 * packet took, the endpoint that answered, the source the destination saw — and, for faults
 * injected by hand as an operator might break a cluster, that trace names the first disagreement
 * and explain the drift on the right node. The agents run with a long resync here, so a fault stays
 * until the test repairs it. The whole suite runs on a lab with the SQLite datastore and on one
 * with the lab's own etcd.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import type { LabState } from "../../src/lab/lab-state.ts";
import { runSync } from "../../src/linux/exec.ts";
import { ensurePodnetBuilt, PODNET } from "../../testkit/podnet-build.ts";
import { labCommands } from "../support/lab-commands.ts";

let labRoot = "";

const { podnet, labJson, explain, trace } = labCommands(() => labRoot);

let state: LabState;

function node(name: string) {
  const n = state.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in the lab`);
  return n;
}

function podIP(name: string): string {
  const pod = state.pods.find((p) => p.name === name);
  const result = pod?.result as { ips?: { address: string }[] } | undefined;
  const address = result?.ips?.[0]?.address;
  if (!address) throw new Error(`no address for pod ${name}`);
  return address.split("/")[0] as string;
}

function nodeIP(name: string): string {
  return node(name).address.split("/")[0] as string;
}

function block(name: string): string {
  const b = node(name).podCidrs[0];
  if (!b) throw new Error(`node ${name} has no block`);
  return b;
}

/** The n-th address of a node's /24 block. */
function inBlock(name: string, n: number): string {
  return block(name).replace(/\.0\/24$/, `.${n}`);
}

function inNode(name: string, ...argv: string[]) {
  const r = runSync(["ip", "netns", "exec", node(name).netns, ...argv]);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} on ${name}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** podnet run in node1 (where the lab's etcd is reachable too). */
function podnetInNode1(...args: string[]) {
  return runSync(["ip", "netns", "exec", node("node1").netns, PODNET, ...args], { timeoutMs: 60_000 });
}

function service(name: string): { clusterIPs: string[]; ports: { protocol: string; nodePort?: number }[] } {
  const r = podnetInNode1("service", "show", name, "--datastore", state.datastore, "--json");
  if (r.code !== 0) throw new Error(`service show ${name}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The keys of explain/trace requests in the lab's datastore. */
function diagnosisKeys(): string[] {
  const script = join(import.meta.dir, "harness/store-keys.ts");
  const r = runSync([
    "ip",
    "netns",
    "exec",
    node("node1").netns,
    process.execPath,
    script,
    state.datastore,
    "/podnet/diagnosis/",
  ]);
  if (r.code !== 0) throw new Error(`listing the datastore's diagnosis keys: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

function createService(name: string, selector: string): void {
  const r = podnetInNode1(
    "service",
    "create",
    name,
    "--selector",
    selector,
    "--port",
    "80:8080/TCP",
    "--datastore",
    state.datastore,
  );
  if (r.code !== 0) throw new Error(`service create ${name}: ${r.stderr}`);
}

function hopsOf(report: TraceReport, direction: "forward" | "reply" = "forward") {
  const path = report.prediction.paths[report.verdict.path] ?? report.prediction.paths[0];
  return (direction === "forward" ? path?.forward : path?.reply) ?? [];
}

for (const datastore of ["sqlite", "etcd"] as const) {
  describe(`on a lab with the ${datastore} datastore`, () => {
    beforeAll(() => {
      ensurePodnetBuilt();
      labRoot = mkdtempSync(`${tmpdir()}/podnet-diagnosis-test-`);
      // A long resync: the agents would repair the injected faults within seconds otherwise.
      const up = podnet("lab", "up", "--datastore", datastore, "--resync-seconds", "600");
      if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
      state = JSON.parse(readFileSync(`${labRoot}/state.json`, "utf8")) as LabState;
      createService("default/only-node3", "pod=node3-a");
      createService("default/only-node1-a", "pod=node1-a");
    }, 180_000);

    afterAll(() => {
      podnet("lab", "down");
      rmSync(labRoot, { recursive: true, force: true });
    });

    describe("explain", () => {
      test("a pod IP: its pod, node, interface, the block chain, and how every other node routes it", () => {
        const e = explain(podIP("node2-a"));
        expect(e.kinds).toContain("pod");
        expect(e.pod).toMatchObject({ namespace: "default", name: "node2-a", node: "node2", ifname: "eth0" });
        expect(e.pod?.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        expect(e.pod?.hostVeth).toBeDefined();
        expect(e.provenance.range).toBe("10.244.0.0/16");
        expect(e.provenance.block).toMatchObject({ block: block("node2"), node: "node2", leased: true });
        expect(e.provenance.allocation?.node).toBe("node2");
        const routes = Object.fromEntries(e.routes.map((r) => [r.node, r]));
        expect(routes.node1).toMatchObject({ how: "direct", via: nodeIP("node2"), ok: true });
        expect(routes.node3).toMatchObject({ how: "vxlan", underlay: nodeIP("node2"), ok: true });
        expect(e.checks.filter((c) => !c.ok)).toEqual([]);
        expect(e.endpointOf.map((u) => u.service)).toContain("default/echo");
        expect(e.drift.relevant).toEqual([]);
        expect(e.missing).toEqual([]);
      });

      test("a gateway, a VTEP address and a node IP", () => {
        const gw = explain(inBlock("node1", 1));
        expect(gw.kinds).toContain("gateway");
        expect(gw.gateway).toMatchObject({ node: "node1", device: "podnet0" });
        const vtep = explain(inBlock("node3", 0));
        expect(vtep.kinds).toContain("vtep");
        expect(vtep.vtep).toMatchObject({ node: "node3", device: "podnet-vx" });
        const n = explain(nodeIP("node2"));
        expect(n.kinds).toContain("node-ip");
        expect(n.nodeIP).toMatchObject({ node: "node2", changed: false, announced: [nodeIP("node2")] });
      });

      test("the demo ClusterIP exists only as rules, and a NodePort", () => {
        const echo = service("default/echo");
        const clusterIP = echo.clusterIPs[0] as string;
        const e = explain(clusterIP);
        expect(e.kinds).toContain("cluster-ip");
        expect(e.service?.service).toBe("default/echo");
        expect(e.service?.serviceCidr).toBe("10.96.0.0/12");
        expect(e.service?.endpoints.length).toBe(6);
        expect(e.checks.filter((c) => !c.ok)).toEqual([]);
        const nodePort = echo.ports.find((p) => p.protocol === "TCP")?.nodePort;
        expect(nodePort).toBeGreaterThanOrEqual(30000);
        const np = explain(`${nodeIP("node1")}:${nodePort}`);
        expect(np.kinds).toContain("node-port");
        expect(np.nodePort?.service).toBe("default/echo");
      });

      test("a free address in a block, and an address outside the cluster", () => {
        const free = explain(inBlock("node1", 200));
        expect(free.kinds).toContain("free");
        expect(free.free?.node).toBe("node1");
        const outside = explain(state.external.address.split("/")[0] as string);
        expect(outside.kinds).toContain("outside");
        const node1 = outside.egress?.find((d) => d.node === "node1");
        expect(node1).toMatchObject({ masquerade: true, as: nodeIP("node1") });
      });
    });

    describe("trace, verified with real packets", () => {
      test("pod → pod on the same node: bridged, nothing rewritten", () => {
        const r = trace("node1-a", "node1-b:8080");
        expect(r.verdict.status).toBe("agree");
        expect(r.prediction.outcome).toBe("delivered");
        expect(r.observation?.outcome).toBe("answered");
        expect(r.observation?.sourceSeen?.ip).toBe(podIP("node1-a"));
        expect(hopsOf(r).some((h) => h.point === "bridge" && h.layer === "l2")).toBe(true);
        expect(hopsOf(r).some((h) => h.point === "fib")).toBe(false);
      });

      test("pod → pod on a node of the same segment: routed directly via its node IP", () => {
        const r = trace("node1-a", "node2-a:8080");
        expect(r.verdict.status).toBe("agree");
        expect(r.observation?.sourceSeen?.ip).toBe(podIP("node1-a"));
        const fib = hopsOf(r).find((h) => h.point === "fib" && h.node === "node1");
        expect(fib?.route?.via).toBe(nodeIP("node2"));
        expect(hopsOf(r).some((h) => h.point === "to-overlay")).toBe(false);
      });

      test("pod → pod behind the router: through VXLAN, outer packets counted", () => {
        const r = trace("node1-a", "node3-a:8080");
        expect(r.verdict.status).toBe("agree");
        expect(r.observation?.sourceSeen?.ip).toBe(podIP("node1-a"));
        const overlay = hopsOf(r).find((h) => h.point === "to-overlay");
        expect(overlay?.vxlan).toMatchObject({ device: "podnet-vx", vni: 4096, outerDst: nodeIP("node3") });
        const node1 = r.observation?.nodes.find((n) => n.node === "node1");
        expect(node1?.vxlan.some((c) => c.name.startsWith("vxlan-out") && c.packets > 0)).toBe(true);
      });

      test("pod → ClusterIP whose endpoint is on another node: DNAT, and the endpoint reported is the one that answered", () => {
        const r = trace("node1-a", "default/only-node3:80");
        expect(r.verdict.status).toBe("agree");
        expect(r.prediction.candidates.map((c) => c.ip)).toEqual([podIP("node3-a")]);
        expect(r.observation?.endpoint?.ip).toBe(podIP("node3-a"));
        expect(r.probe?.echo?.pod).toBe("node3-a");
        const node1 = r.observation?.nodes.find((n) => n.node === "node1");
        expect(node1?.dnat?.to?.ip).toBe(podIP("node3-a"));
        // No chain of its own: the Service is named from the verdict-map key, the DNAT fired in
        // the shared chain for one TCP endpoint.
        expect(node1?.dnat?.service).toBe("default/only-node3");
        expect(node1?.dnat?.chain).toBe("endpoints-tcp-1");
        // The demo Service: whichever of its 6 endpoints answered is the one the trace names.
        const demo = trace("node1-a", "default/echo:80");
        expect(demo.verdict.status).toBe("agree");
        expect(demo.prediction.candidates.length).toBe(6);
        expect(demo.observation?.endpoint?.pod).toBe(`default/${demo.probe?.echo?.pod}`);
      });

      test("node → pod", () => {
        const r = trace("node2", "node3-b:8080");
        expect(r.verdict.status).toBe("agree");
        expect(r.observation?.outcome).toBe("answered");
        expect(r.probe?.echo?.pod).toBe("node3-b");
      });

      test("pod → external host: masqueraded to the node's IP, as the external host saw it", () => {
        const r = trace("node1-a", "external:8080");
        expect(r.verdict.status).toBe("agree");
        expect(hopsOf(r).some((h) => h.point === "masquerade")).toBe(true);
        expect(r.probe?.echo?.from).toBe(nodeIP("node1"));
        expect(r.observation?.sourceSeen?.ip).toBe(nodeIP("node1"));
      });

      test("external host → NodePort", () => {
        const nodePort = service("default/echo").ports.find((p) => p.protocol === "TCP")?.nodePort;
        const r = trace("external", `${nodeIP("node2")}:${nodePort}`);
        expect(r.verdict.status).toBe("agree");
        expect(r.observation?.outcome).toBe("answered");
        expect(hopsOf(r).some((h) => h.point === "service-dnat")).toBe(true);
        const node2 = r.observation?.nodes.find((n) => n.node === "node2");
        expect(node2?.dnat?.service).toBe("default/echo");
        expect(node2?.dnat?.chain).toMatch(/^nodeport-endpoints-tcp-\d+$/);
      });

      test("pod → Service without endpoints: refused by the reject rule, as predicted", () => {
        const r = trace("node1-a", "default/no-endpoints:80");
        expect(r.prediction.outcome).toBe("refused");
        expect(r.prediction.paths[0]?.drop?.reason).toBe("no-endpoints");
        expect(r.observation?.outcome).toBe("refused");
        expect(r.verdict.status).toBe("agree");
      });

      test("pod → its own Service (hairpin)", () => {
        const r = trace("node1-a", "default/only-node1-a:80");
        expect(r.verdict.status).toBe("agree");
        expect(r.observation?.outcome).toBe("answered");
        expect(r.probe?.echo?.pod).toBe("node1-a");
      });

      test("--no-probe predicts without sending anything", () => {
        const r = labJson<TraceReport>("trace", "node1-a", "node3-a:8080", "--no-probe");
        expect(r.probed).toBe(false);
        expect(r.verdict.status).toBe("predicted-only");
        expect(r.probe).toBeUndefined();
        expect(r.prediction.outcome).toBe("delivered");
      });
    });

    describe("faults, named by trace as the first disagreement and by explain as drift", () => {
      test("a peer route deleted on node1", () => {
        const dst = block("node2");
        inNode("node1", "ip", "route", "del", dst);
        try {
          const r = trace("node1-a", "node2-a:8080");
          expect(r.verdict.firstDisagreement?.node).toBe("node1");
          expect(["no-route", "wrong-route"]).toContain(r.verdict.firstDisagreement?.reason ?? "none");
          const e = explain(podIP("node2-a"));
          expect(e.drift.relevant.some((d) => d.node === "node1" && d.kind === "missing-route")).toBe(true);
        } finally {
          inNode(
            "node1",
            "ip",
            "route",
            "replace",
            dst,
            "via",
            nodeIP("node2"),
            "dev",
            "eth0",
            "proto",
            "200",
          );
        }
        expect(explain(podIP("node2-a")).drift.relevant).toEqual([]);
      });

      test("an FDB entry deleted on node1", () => {
        const fdb = JSON.parse(inNode("node1", "bridge", "-j", "fdb", "show", "dev", "podnet-vx")) as {
          mac: string;
          dst?: string;
        }[];
        const entry = fdb.find((f) => f.dst === nodeIP("node3"));
        expect(entry).toBeDefined();
        const mac = entry?.mac as string;
        inNode("node1", "bridge", "fdb", "del", mac, "dev", "podnet-vx", "dst", nodeIP("node3"), "self");
        try {
          const r = trace("node1-a", "node3-a:8080");
          expect(r.verdict.firstDisagreement).toMatchObject({ node: "node1", reason: "missing-fdb" });
          const e = explain(podIP("node3-a"));
          expect(e.drift.relevant.some((d) => d.node === "node1" && d.kind === "missing-fdb")).toBe(true);
        } finally {
          inNode(
            "node1",
            "bridge",
            "fdb",
            "replace",
            mac,
            "dev",
            "podnet-vx",
            "dst",
            nodeIP("node3"),
            "self",
            "permanent",
          );
        }
      });

      test("ip_forward turned off on node2", () => {
        inNode("node2", "sysctl", "-qw", "net.ipv4.ip_forward=0");
        try {
          const r = trace("node1-a", "node2-a:8080");
          expect(r.verdict.firstDisagreement).toMatchObject({ node: "node2", reason: "ip-forward-off" });
          const e = explain(podIP("node2-a"));
          expect(e.drift.relevant.some((d) => d.node === "node2" && d.kind === "ip-forward-off")).toBe(true);
        } finally {
          inNode("node2", "sysctl", "-qw", "net.ipv4.ip_forward=1");
        }
      });

      test("a CLI killed mid-trace leaves no tracing rule and no request behind after its lease", async () => {
        const child = Bun.spawn(
          [
            "ip",
            "netns",
            "exec",
            node("node1").netns,
            PODNET,
            "trace",
            "default/node1-a",
            "203.0.113.77:9/tcp",
            "--datastore",
            state.datastore,
            "--timeout-ms",
            "20000",
          ],
          { stdout: "ignore", stderr: "ignore" },
        );
        const tables = () =>
          ["node1", "node2", "node3"].flatMap((n) =>
            inNode(n, "nft", "list", "tables")
              .split("\n")
              .filter((l) => l.includes("podnet-trace-")),
          );
        await pollUntil("the trace to install its tracing table", () => tables().length > 0, 15_000);
        child.kill("SIGKILL");
        await child.exited;
        await pollUntil(
          "the tracing tables and the request to go with the lease",
          () => tables().length === 0 && diagnosisKeys().length === 0,
          30_000,
        );
      });

      test("an agent stopped and its routes removed on node2", async () => {
        const pid = node("node2").agentPid;
        process.kill(pid, "SIGTERM");
        // A stopping agent may still answer for a moment (slower on a loaded machine): wait until it is gone.
        const gone = () => {
          try {
            return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") === true;
          } catch {
            return true; // exited and reaped
          }
        };
        await pollUntil("node2's agent to exit", gone, 30_000);
        inNode("node2", "ip", "route", "flush", "proto", "200");
        const r = trace("node1-a", "node2-a:8080");
        expect(r.missing.map((m) => m.node)).toContain("node2");
        // Nothing is known past a node whose agent is silent: not a verdict of agreement.
        expect(r.verdict.status).toBe("inconclusive");
        expect(r.verdict.firstDisagreement).toMatchObject({ node: "node2", reason: "agent-missing" });
        const e = explain(podIP("node2-a"));
        expect(e.missing.map((m) => m.node)).toContain("node2");
        expect(e.drift.relevant.some((d) => d.node === "node2" && d.kind === "agent-not-answering")).toBe(
          true,
        );
      });
    });
  });
}
