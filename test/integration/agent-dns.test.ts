/**
 * The node-local DNS of the agent, on real packets: one node whose agent serves the cluster zone
 * on 169.254.20.10 (an empty bridge `podnet-dns` in the node's namespace), pods that query it
 * through their default route, the CNI result's `dns` written into a pod's resolv.conf (as the lab
 * does, through /etc/netns) so glibc's search path resolves short names, and Services written to
 * the datastore while the agent runs. Outside names are refused (no upstream given); a clean
 * stop keeps the link and its address, so pods' queries are refused on the node instead of being
 * routed out of it, and only an agent run without DNS removes the link.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { readClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import { createService, deleteService } from "../../src/cluster/service-store.ts";
import { parseConflist } from "../../src/cni/conflist.ts";
import type { ClusterConfig } from "../../src/ipam/cluster-config.ts";
import type { Service } from "../../src/k8s/service-model.ts";
import { removePodResolvConf, writePodResolvConf } from "../../src/lab/pod-resolv-conf.ts";
import { runSync } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { Store } from "../../src/store/store.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { logTail } from "./harness/agent-log.ts";
import type { AgentProcess } from "./harness/cluster-agent.ts";
import { askDns, askOne } from "./harness/dns-client.ts";
import { type ClusterPod, useTestCluster } from "./harness/test-cluster.ts";
import { TestRun, useDisposable } from "./harness/test-run.ts";

const DNS = "169.254.20.10";
const ZONE = "cluster.local";
const KUBELET_DNS = {
  nameservers: [DNS],
  search: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
  options: ["ndots:5"],
};

describe("node-local DNS in the agent (real sockets, a pod's resolv.conf)", () => {
  const cluster = useTestCluster(1);
  /** The client pod's namespace: made here, since the cluster's pods all live in "default". */
  const clientRun = useDisposable("client pod run", () => new TestRun(), "suite");
  let agent: AgentProcess | undefined;
  let store: Store | undefined;
  let config: ClusterConfig | undefined;
  const pods = new Map<string, ClusterPod>();
  const services = new Map<string, Service>();
  let client = { netns: "", result: {} as { dns?: unknown } };
  let etcNetns: string | undefined;
  let forgetEtcNetns = () => {};

  const logs = () => (agent ? logTail(agent, 15) : "no agent");
  const must = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} was not set up (beforeAll failed?)`);
    return v;
  };
  const metric = async (sample: string) => metricValue(await cluster().metrics("node1"), sample);
  const clusterIP = (name: string) => must(services.get(name)?.clusterIPs[0], `Service ${name}`);
  const reverse = (ip: string) => `${ip.split(".").reverse().join(".")}.in-addr.arpa`;

  beforeAll(async () => {
    const c = cluster();
    agent = c.startAgent("node1", { backend: "host-gw", extraArgs: ["--dns-upstream", "none"] });
    await c.waitReady(agent);
    for (const [name, app] of [
      ["echo-1", "echo"],
      ["db-1", "db"],
      ["db-2", "db"],
    ] as const)
      pods.set(name, await c.addPod("node1", { name, labels: { app } }));

    // A pod of namespace "shop", attached as a runtime attaches it, to read its ADD result.
    const run = clientRun();
    const { name: netns, path } = run.createNetns("client");
    const result = (await c.runtime("node1").add({
      containerId: `${run.prefix}-client`,
      ifname: "eth0",
      netnsPath: path,
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "shop", K8S_POD_NAME: "client" },
    })) as { dns?: { nameservers?: string[]; search?: string[]; options?: string[] } };
    client = { netns, result };
    // What `ip netns exec` mounts over /etc/resolv.conf (ip-netns(8)); removed with the pod. Written
    // as the lab writes it, which tolerates another test's lab removing /etc/netns meanwhile.
    etcNetns = netns;
    const owned = netns;
    forgetEtcNetns = disposeOnExit(() => removePodResolvConf(owned));
    const dns = result.dns ?? {};
    writePodResolvConf(netns, {
      nameservers: dns.nameservers ?? [],
      search: dns.search ?? [],
      options: dns.options ?? [],
    });

    store = await c.openStore();
    config = must((await readClusterConfig(store)) ?? undefined, "the cluster config");
    const input = (name: string, app: string, headless = false) => ({
      namespace: "default",
      name,
      selector: { app },
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
      ...(headless ? { headless: true } : {}),
    });
    services.set("echo", await createService(store, config, input("echo", "echo")));
    services.set("db", await createService(store, config, input("db", "db", true)));
    await pollUntil(
      "the agent's DNS to serve both Services",
      async () =>
        (await metric("podnet_dns_serving")) === 1 && (await metric("podnet_dns_zone_services")) === 2,
      15_000,
      { detail: logs },
    );
  });

  afterAll(async () => {
    await store?.close();
    if (etcNetns) removePodResolvConf(etcNetns);
    forgetEtcNetns();
  });

  test("the conflist names the node-local nameserver; the pod's ADD result carries kubelet's resolv.conf", () => {
    const plugin = parseConflist(readFileSync(cluster().node("node1").conflistPath, "utf8")).plugins[0];
    expect(plugin?.clusterDomain).toBe(ZONE);
    expect(plugin?.dns).toEqual({
      nameservers: [DNS],
      search: ["svc.cluster.local", "cluster.local"],
      options: ["ndots:5"],
    });
    expect(client.result.dns).toEqual(KUBELET_DNS);
  });

  test("A by full name (authoritative, TTL 5); SRV for the named port; PTR for the ClusterIP and a pod", async () => {
    const ip = clusterIP("echo");
    const echo1 = must(pods.get("echo-1"), "pod echo-1").ip;
    const [a, srv, ptr, podPtr, aaaa] = await askDns(client.netns, DNS, [
      { name: `echo.default.svc.${ZONE}`, type: "A" },
      { name: `_http._tcp.echo.default.svc.${ZONE}`, type: "SRV" },
      { name: reverse(ip), type: "PTR" },
      { name: reverse(echo1), type: "PTR" },
      { name: `echo.default.svc.${ZONE}`, type: "AAAA" },
    ]);
    expect(a).toMatchObject({ rcode: "NOERROR", aa: true });
    expect(a && "answers" in a ? a.answers : []).toEqual([
      { name: `echo.default.svc.${ZONE}`, type: "A", ttl: 5, data: ip },
    ]);
    expect(srv && "answers" in srv ? srv.answers.map((r) => r.data) : []).toEqual([
      { priority: 0, weight: 100, port: 80, target: `echo.default.svc.${ZONE}` },
    ]);
    expect(ptr && "answers" in ptr ? ptr.answers.map((r) => r.data) : []).toEqual([
      `echo.default.svc.${ZONE}`,
    ]);
    expect(podPtr && "answers" in podPtr ? podPtr.answers.map((r) => r.data) : []).toEqual([
      `${echo1.replaceAll(".", "-")}.default.pod.${ZONE}`,
    ]);
    // An IPv4-only Service has the name but no AAAA: NODATA with the zone's SOA, not NXDOMAIN.
    expect(aaaa).toMatchObject({ rcode: "NOERROR", aa: true, answers: [] });
    expect(aaaa && "authorities" in aaaa ? aaaa.authorities.map((r) => r.type) : []).toEqual(["SOA"]);
  });

  test("a headless Service answers its ready pods, each also by its own name; the same over TCP", async () => {
    const ips = ["db-1", "db-2"].map((n) => must(pods.get(n), `pod ${n}`).ip).sort();
    const udp = await askOne(client.netns, DNS, `db.default.svc.${ZONE}`, "A");
    expect(udp.answers.map((r) => r.data).sort()).toEqual(ips);
    const tcp = await askOne(client.netns, DNS, `db.default.svc.${ZONE}`, "A", "tcp");
    expect(tcp.answers.map((r) => r.data).sort()).toEqual(ips);
    const one = await askOne(client.netns, DNS, `db-1.db.default.svc.${ZONE}`, "A");
    expect(one.answers.map((r) => r.data)).toEqual([must(pods.get("db-1"), "pod db-1").ip]);
  });

  test("through the pod's resolv.conf: NAME.NS and the full name resolve with getent, an unknown name does not", () => {
    const ip = clusterIP("echo");
    for (const name of ["echo.default", `echo.default.svc.${ZONE}`]) {
      const r = runSync(inNetns(client.netns, ["getent", "ahostsv4", name]));
      expect(r.code).toBe(0);
      expect(r.stdout.split("\n")[0]?.split(/\s+/)[0]).toBe(ip);
    }
    // glibc tried every search suffix and the name itself, all NXDOMAIN here: exit code 2.
    expect(runSync(inNetns(client.netns, ["getent", "ahostsv4", "nothing.default"])).code).toBe(2);
  });

  test("a Service created is answered, and NXDOMAIN once deleted, each within a bounded poll", async () => {
    const s = must(store, "the datastore client");
    const late = await createService(s, must(config, "the cluster config"), {
      namespace: "default",
      name: "late",
      selector: { app: "echo" },
      ports: [{ port: 81, targetPort: 8080 }],
    });
    const name = `late.default.svc.${ZONE}`;
    const created = await pollUntil(
      `${name} to be answered`,
      async () =>
        (await askOne(client.netns, DNS, name, "A")).answers.some((r) => r.data === late.clusterIPs[0]),
      5000,
      { intervalMs: 50, detail: logs },
    );
    await deleteService(s, "default", "late");
    const deleted = await pollUntil(
      `${name} to be NXDOMAIN`,
      async () => (await askOne(client.netns, DNS, name, "A")).rcode === "NXDOMAIN",
      5000,
      { intervalMs: 50, detail: logs },
    );
    console.log(`created → answered in ${created.ms} ms; deleted → NXDOMAIN in ${deleted.ms} ms`);
  });

  test("a headless Service's pod deleted (CNI DEL) leaves its answers", async () => {
    const gone = must(pods.get("db-2"), "pod db-2");
    await cluster()
      .runtime("node1")
      .del({
        containerId: gone.containerId,
        ifname: "eth0",
        netnsPath: gone.netnsPath,
        args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: "db-2" },
      });
    const ip = must(pods.get("db-1"), "pod db-1").ip;
    await pollUntil(
      "db to answer db-1 only",
      async () => {
        const r = await askOne(client.netns, DNS, `db.default.svc.${ZONE}`, "A");
        return r.answers.length === 1 && r.answers[0]?.data === ip;
      },
      5000,
      { intervalMs: 50, detail: logs },
    );
  });

  test("names outside the cluster are refused without an upstream; the cluster's are never forwarded", async () => {
    const echo1 = must(pods.get("echo-1"), "pod echo-1").ip;
    const [outside, nothing, belowPtr] = await askDns(client.netns, DNS, [
      { name: "www.example.com", type: "A" },
      { name: `www.example.com.shop.svc.${ZONE}`, type: "A" },
      // Inside the pod CIDR's reverse zone, though not an address: answered here, not refused.
      { name: `x.${reverse(echo1)}`, type: "PTR" },
    ]);
    expect(outside).toMatchObject({ rcode: "REFUSED", aa: false });
    expect(nothing).toMatchObject({ rcode: "NXDOMAIN", aa: true });
    expect(belowPtr).toMatchObject({ rcode: "NXDOMAIN", aa: true });
  });

  test("a link left by a killed agent is re-used; an address removed by hand is put back", async () => {
    const c = cluster();
    const netns = c.node("node1").netns;
    const answered = async () => {
      const [reply] = await askDns(client.netns, DNS, [{ name: `echo.default.svc.${ZONE}`, type: "A" }]);
      return reply !== undefined && "answers" in reply && reply.answers.length === 1;
    };
    await c.stopAgent(must(agent, "the agent"), "SIGKILL");
    expect(runSync(["ip", "-n", netns, "link", "show", "dev", "podnet-dns"]).code).toBe(0);
    agent = c.startAgent("node1", { backend: "host-gw", extraArgs: ["--dns-upstream", "none"] });
    await pollUntil("the restarted agent to answer", answered, 15_000, { intervalMs: 100, detail: logs });
    expect(runSync(["ip", "-n", netns, "addr", "del", `${DNS}/32`, "dev", "podnet-dns"]).code).toBe(0);
    // Checked every resync period (1 s here); the sockets stay bound meanwhile.
    await pollUntil("the address to be put back and answered", answered, 10_000, {
      intervalMs: 100,
      detail: logs,
    });
  });

  test("a clean stop closes the server but keeps the link: pods' queries are refused on the node", async () => {
    const c = cluster();
    const netns = c.node("node1").netns;
    const link = () => runSync(["ip", "-n", netns, "-j", "addr", "show", "dev", "podnet-dns"]);
    expect(link().stdout).toContain(`"local":"${DNS}"`);
    expect(await c.stopAgent(must(agent, "the agent"))).toBe(0);
    agent = undefined;
    // Still the node's own address: nothing for it follows the default route out of the node.
    expect(link().stdout).toContain(`"local":"${DNS}"`);
    expect(runSync(["ip", "-n", netns, "route", "get", DNS]).stdout).toMatch(new RegExp(`^local ${DNS} `));
    // Nothing listens: refused at once (a TCP reset), not left to time out.
    const [reply] = await askDns(client.netns, DNS, [{ name: `echo.default.svc.${ZONE}`, type: "A" }], "tcp");
    expect(reply).toHaveProperty("error");
    expect((reply as { error: string }).error).not.toContain("no TCP reply");
    expect(existsSync(c.node("node1").readyFile)).toBe(false);
  });

  test("an agent run with --dns-address none removes the link an earlier run left", async () => {
    const c = cluster();
    const netns = c.node("node1").netns;
    agent = c.startAgent("node1", { backend: "host-gw", extraArgs: ["--dns-address", "none"] });
    await c.waitReady(agent);
    expect(runSync(["ip", "-n", netns, "link", "show", "dev", "podnet-dns"]).code).not.toBe(0);
    expect(await c.stopAgent(agent)).toBe(0);
    agent = undefined;
  });
});
