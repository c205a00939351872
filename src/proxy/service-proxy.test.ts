/**
 * The service proxy's apply / fall back / resync logic against a recording kernel: what it sends
 * on the first sync, on an endpoint change, after a refused transaction, when its table went
 * missing, while nft fails, when a pod's readiness flips, and for a headless Service — with a real
 * (SQLite) datastore for Services and pod records.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import { podRecordKey, putPodRecord } from "../cluster/pod-records.ts";
import { createService, deleteService } from "../cluster/service-store.ts";
import type { ServiceInput } from "../cluster/service-validation.ts";
import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import type { Store } from "../store/store.ts";
import type { NftFamily } from "./nft-model.ts";
import type { ReplaceOutcome } from "./proxy-kernel.ts";
import { RecordingKernel } from "./recording-kernel.ts";
import { type ProxyOptions, ServiceProxy } from "./service-proxy.ts";
import type { TableContent } from "./table-content.ts";
import type { NodeView } from "./table-inputs.ts";

const store = useTempStores("podnet-service-proxy");
const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const VIEW: NodeView = {
  nodeName: "node-1",
  nodeIPs: ["192.0.2.10"],
  clusterCidrs: ["10.244.0.0/16"],
  serviceCidrs: ["10.96.0.0/24"],
};
const FULL = "add table ip podnet\ndelete table ip podnet\ntable ip podnet {\n";
/** A full sync built under the other name, replacing a live `podnet`. */
const FULL_B = "add table ip podnet-b\ndelete table ip podnet-b\ntable ip podnet-b {\n";
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

interface LogEntry {
  readonly level: string;
  readonly msg: string;
  readonly fields?: Record<string, unknown>;
}

async function setup(options: Partial<ProxyOptions> = {}, kernel = new RecordingKernel()) {
  const s = await store();
  const metrics = new Metrics({ processMetrics: false });
  const logs: LogEntry[] = [];
  const entry = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void logs.push({ level, msg, ...(fields ? { fields } : {}) });
  const log: Logger = { debug: () => {}, info: entry("info"), warn: entry("warn"), error: entry("error") };
  const proxy = new ServiceProxy(
    s,
    {
      masqueradeEgress: true,
      keepPrivateRanges: true,
      nonMasqueradeCidrs: [],
      checkSeconds: 3600,
      ...options,
    },
    () => VIEW,
    log,
    metrics,
    kernel,
  );
  stops.push(() => proxy.stop());
  /** One sample of the proxy's metrics, e.g. `podnet_proxy_syncs_total{kind="full"}`. */
  const metric = async (sample: string): Promise<number> => {
    const value = metricValue(await metrics.render(), sample);
    if (value === undefined) throw new Error(`no sample ${sample}`);
    return value;
  };
  return { s, kernel, logs, proxy, metric };
}

function service(name: string, app: string, protocol: "TCP" | "UDP" = "TCP"): ServiceInput {
  return { namespace: "default", name, selector: { app }, ports: [{ protocol, port: 80, targetPort: 8080 }] };
}

function pod(s: Store, name: string, ip: string, app: string, ready?: boolean): Promise<void> {
  return putPodRecord(s, {
    namespace: "default",
    name,
    node: "node-1",
    ips: [ip],
    labels: { app },
    ...(ready === undefined ? {} : { ready }),
  });
}

/** Waits for what a watch event or a timer brings about (the proxy works within milliseconds). */
const until = (what: string, check: () => boolean | Promise<boolean>) =>
  pollUntil(what, check, 3000, { intervalMs: 5 });

const syncs = (kind: "full" | "partial") => `podnet_proxy_syncs_total{kind="${kind}"}`;
const errors = (kind: "nft" | "store" | "conntrack" | "netlink") =>
  `podnet_proxy_errors_total{kind="${kind}"}`;

describe("ServiceProxy", () => {
  test("the first sync replaces the table in full; an endpoint change sends only the change", async () => {
    const { s, kernel, proxy, metric } = await setup();
    const web = await createService(s, config, service("web", "web"));
    await pod(s, "web-1", "10.244.1.5", "web");
    await proxy.start();
    expect(kernel.transactions.map((t) => t.outcome)).toEqual(["applied"]);
    const [first] = kernel.applied;
    expect(first).toStartWith(FULL);
    expect(first).toContain(`${web.clusterIPs[0]} . 80 . 0 : 10.244.1.5 . 8080`);
    expect([await metric(syncs("full")), await metric(syncs("partial"))]).toEqual([1, 0]);
    expect(await metric("podnet_proxy_endpoints")).toBe(1);

    await pod(s, "web-2", "10.244.1.6", "web");
    await until("the partial sync", () => kernel.transactions.length === 2);
    const [, second] = kernel.applied;
    expect(second).not.toContain("table ip podnet");
    expect(second).toContain("add element ip podnet service-endpoints-tcp");
    expect(second).toContain("10.244.1.6 . 8080");
    await until("the sync to be counted", async () => (await metric(syncs("partial"))) === 1);
    expect(await metric(syncs("full"))).toBe(1);
    expect(await metric("podnet_proxy_endpoints")).toBe(2);
    expect(await metric(errors("nft"))).toBe(0);
    // The kernel is told which is which: a partial sync may go through the long-lived nft.
    expect(kernel.transactions.map((t) => t.kind)).toEqual(["full", "partial"]);
    expect(kernel.closed).toBe(0);
    await proxy.stop();
    expect(kernel.closed).toBe(1);
  });

  test("the IPv6 table comes with the first IPv6 Service and is deleted when the last one goes", async () => {
    const { s, kernel, proxy } = await setup();
    const dual = buildClusterConfig({
      clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
      serviceCidrs: ["10.96.0.0/24", "fd00:10:96::/112"],
    });
    await createService(s, dual, service("web", "web"));
    await proxy.start();
    expect(kernel.hasTable("ip6")).toBe(false);
    const v6 = await createService(s, dual, {
      ...service("web6", "web"),
      ipFamilies: ["IPv6"],
    });
    await until("the IPv6 table", () => kernel.hasTable("ip6"));
    expect(
      kernel.applied.some((t) => t.startsWith("add table ip6 podnet\ndelete table ip6 podnet\ntable ip6")),
    ).toBe(true);
    expect(kernel.applied.join("")).toContain(v6.clusterIPs[0] ?? "no ClusterIP");
    await deleteService(s, "default", "web6");
    // Left in place, its rules would keep sending the old ClusterIP to the old endpoints.
    await until("the IPv6 table to be deleted", () => !kernel.hasTable("ip6"));
    // Both names: a swap cut short would have left the other one.
    expect(kernel.applied.at(-1)).toBe(
      "add table ip6 podnet\ndelete table ip6 podnet\nadd table ip6 podnet-b\ndelete table ip6 podnet-b\n",
    );
    expect(kernel.hasTable("ip")).toBe(true);
  });

  test("a partial transaction the kernel refuses is answered with a full sync at once", async () => {
    const { s, kernel, proxy, metric, logs } = await setup();
    await createService(s, config, service("web", "web"));
    await pod(s, "web-1", "10.244.1.5", "web");
    await proxy.start();
    kernel.refuseNext();
    await pod(s, "web-2", "10.244.1.6", "web");
    await until("the full sync after the refusal", () => kernel.transactions.length === 3);
    const [full, refused, replacement] = kernel.transactions;
    expect([full?.outcome, refused?.outcome, replacement?.outcome]).toEqual([
      "applied",
      "refused",
      "applied",
    ]);
    expect(refused?.text).not.toStartWith("add table");
    // Built beside the live `podnet` under the other name, which then goes.
    expect(replacement?.text).toStartWith(FULL_B);
    expect(replacement?.text).toEndWith("add table ip podnet\ndelete table ip podnet\n");
    expect(replacement?.text).toContain("10.244.1.6 . 8080");
    expect(kernel.liveName("ip")).toBe("podnet-b");
    await until("the sync to be counted", async () => (await metric(syncs("full"))) === 2);
    expect(await metric(syncs("partial"))).toBe(0);
    expect(await metric(errors("nft"))).toBe(1);
    expect(logs.map((l) => l.msg)).toContain("partial sync refused; replacing the table in full");
    // Partial syncs change the new table.
    await pod(s, "web-3", "10.244.1.7", "web");
    await until("the next partial sync", () => kernel.transactions.length === 4);
    expect(kernel.applied.at(-1)).toContain("add element ip podnet-b service-endpoints-tcp");
  });

  test("a table deleted behind the proxy's back is found by the periodic check and put back in full", async () => {
    const { s, kernel, proxy, metric } = await setup({ checkSeconds: 0.02 });
    await createService(s, config, service("web", "web"));
    await pod(s, "web-1", "10.244.1.5", "web");
    await proxy.start();
    // A table that is there costs a check and nothing else.
    await until("three table checks", () => kernel.tableChecks.length >= 3);
    expect(kernel.transactions).toHaveLength(1);
    kernel.dropTable("ip");
    await until("the table to be back", () => kernel.hasTable("ip"));
    expect(kernel.transactions.map((t) => t.outcome)).toEqual(["applied", "applied"]);
    expect(kernel.applied[1]).toStartWith(FULL);
    expect(kernel.applied[1]).toBe(kernel.applied[0] as string);
    await until("the sync to be counted", async () => (await metric(syncs("full"))) === 2);
  });

  test("while nft fails, syncs are retried in full with backoff, one retry at a time; none is left after", async () => {
    const { s, kernel, proxy, metric, logs } = await setup({ firstRetryMs: 20, maxRetryMs: 80 });
    await createService(s, config, service("web", "web"));
    kernel.fail();
    await proxy.start();
    expect(kernel.transactions.map((t) => t.outcome)).toEqual(["failed"]);
    expect(await metric(errors("nft"))).toBe(1);
    // Events during the outage each run a sync that fails: with a retry of its own per failure
    // (the leak this replaces), five chains of retries would run side by side from here on.
    for (let i = 1; i <= 5; i++) {
      await pod(s, `web-${i}`, `10.244.1.${i}`, "web");
      await Bun.sleep(15);
    }
    await Bun.sleep(200); // the delay has doubled up to its maximum by now
    const before = kernel.transactions.length;
    await Bun.sleep(800);
    const attempts = kernel.transactions.length - before;
    // One retry pending at a time, every 80 ms: about 10 in 800 ms (five chains would make ~50).
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(attempts).toBeLessThanOrEqual(12);
    for (const t of kernel.transactions) expect(t.text).toStartWith(FULL);
    const delays = logs.filter((l) => l.level === "error").map((l) => l.fields?.retryInMs as number);
    expect(delays[0]).toBe(20);
    expect(Math.max(...delays)).toBe(80);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(await metric(errors("nft"))).toBe(kernel.transactions.length);

    kernel.recover();
    await until("the retry to apply the table", () => kernel.applied.length === 1);
    expect(kernel.applied[0]).toContain("10.244.1.5 . 8080");
    await until("the sync to be counted", async () => (await metric(syncs("full"))) === 1);
    const settled = kernel.transactions.length;
    await Bun.sleep(300); // several retry periods: no retry, and no timer left behind, fires again
    expect(kernel.transactions).toHaveLength(settled);
    expect([await metric(syncs("full")), await metric(syncs("partial"))]).toEqual([1, 0]);
    expect(await metric("podnet_proxy_endpoints")).toBe(5);
  });

  test("stop during an nft outage cancels the pending retry", async () => {
    const { s, kernel, proxy } = await setup({ firstRetryMs: 20, maxRetryMs: 20 });
    await createService(s, config, service("web", "web"));
    kernel.fail();
    await proxy.start();
    await until("a retry", () => kernel.transactions.length >= 2);
    await proxy.stop();
    const stopped = kernel.transactions.length;
    await Bun.sleep(100);
    expect(kernel.transactions).toHaveLength(stopped);
  });

  test("a UDP endpoint that goes away has its conntrack entries deleted after the sync", async () => {
    const { s, kernel, proxy, metric } = await setup();
    const dns = await createService(s, config, service("dns", "dns", "UDP"));
    await pod(s, "dns-a", "10.244.1.7", "dns");
    await pod(s, "dns-b", "10.244.1.8", "dns");
    await proxy.start();
    expect(kernel.flowDeletions).toEqual([]);
    await s.delete(podRecordKey({ node: "node-1", namespace: "default", name: "dns-a" }));
    await until("the stale flow to be deleted", () => kernel.flowDeletions.length > 0);
    expect(kernel.flowDeletions).toEqual([
      { family: 4, clusterIP: dns.clusterIPs[0], port: 80, endpoint: "10.244.1.7" },
    ]);
    await until(
      "the deletion to be counted",
      async () => (await metric("podnet_proxy_stale_udp_entries_deleted_total")) === 1,
    );
    expect(kernel.applied).toHaveLength(2);
  });

  test("a pod turning unready leaves the Service in a partial sync; with none ready its ClusterIP is refused", async () => {
    const { s, kernel, proxy, metric } = await setup();
    const web = await createService(s, config, service("web", "web"));
    const ip = web.clusterIPs[0];
    await pod(s, "web-1", "10.244.1.5", "web");
    await pod(s, "web-2", "10.244.1.6", "web");
    await pod(s, "db-1", "10.244.1.9", "db", false);
    await proxy.start();
    expect(kernel.applied[0]).toContain(`${ip} . 80 . 1 : 10.244.1.6 . 8080`);
    expect(kernel.applied[0]).not.toContain("10.244.1.9");

    await pod(s, "web-1", "10.244.1.5", "web", false);
    await until("the partial sync", () => kernel.transactions.length === 2);
    const flipped = kernel.applied[1] ?? "";
    expect(flipped).not.toContain("table ip podnet {");
    expect(flipped).toContain(
      `add element ip podnet service-endpoints-tcp { ${ip} . 80 . 0 : 10.244.1.6 . 8080 }`,
    );
    expect(flipped).not.toContain("10.244.1.5 . 8080");

    // The last ready pod goes: the ClusterIP's verdict goes, the address stays in cluster-ips,
    // so reject-check refuses connections at once (golden no-endpoints.nft).
    await pod(s, "web-2", "10.244.1.6", "web", false);
    await until("the second partial sync", () => kernel.transactions.length === 3);
    const none = kernel.applied[2] ?? "";
    expect(none).toContain(`delete element ip podnet service-ips { ${ip} . tcp . 80 }`);
    expect(none).not.toContain("cluster-ips");

    await pod(s, "web-1", "10.244.1.5", "web", true);
    await until("the third partial sync", () => kernel.transactions.length === 4);
    expect(kernel.applied[3]).toContain(
      `add element ip podnet service-endpoints-tcp { ${ip} . 80 . 0 : 10.244.1.5 . 8080 }`,
    );
    await until("the syncs to be counted", async () => (await metric(syncs("partial"))) === 3);
    expect(await metric(syncs("full"))).toBe(1);
    expect(kernel.transactions.map((t) => t.outcome)).toEqual(["applied", "applied", "applied", "applied"]);
  });

  test("a headless Service is left out of the table: no ClusterIP, no verdict, no endpoint, no change", async () => {
    const { s, kernel, proxy, metric } = await setup();
    await createService(s, config, service("web", "web"));
    await createService(s, config, {
      namespace: "default",
      name: "db",
      headless: true,
      selector: { app: "db" },
      ports: [{ name: "pg", port: 5432 }],
    });
    await pod(s, "web-1", "10.244.1.5", "web");
    await pod(s, "db-1", "10.244.1.9", "db");
    await proxy.start();
    const [first] = kernel.applied;
    expect(first).toStartWith(FULL);
    for (const trace of ["default/db", "10.244.1.9", "5432"]) expect(first).not.toContain(trace);
    // Its pods coming and going, and the Service going, change nothing in the kernel. The gauges
    // are set after a sync's transaction, so each step is known to be synced before the check.
    const synced = (what: string, services: number, endpoints: number) =>
      until(
        what,
        async () =>
          (await metric("podnet_proxy_services")) === services &&
          (await metric("podnet_proxy_endpoints")) === endpoints,
      );
    await synced("the first sync", 2, 2);
    await pod(s, "db-2", "10.244.1.10", "db");
    await synced("a pod added", 2, 3);
    await s.delete(podRecordKey({ node: "node-1", namespace: "default", name: "db-1" }));
    await synced("a pod deleted", 2, 2);
    await deleteService(s, "default", "db");
    await synced("the Service deleted", 1, 1);
    expect(kernel.transactions).toHaveLength(1);
  });

  test("an agent restarting over a live `podnet-b` builds `podnet`, deletes the old, and checks the new", async () => {
    const kernel = new RecordingKernel();
    kernel.leaveTable("ip", "podnet-b", true);
    const { s, proxy } = await setup({ checkSeconds: 0.02 }, kernel);
    await createService(s, config, service("web", "web"));
    await pod(s, "web-1", "10.244.1.5", "web");
    await proxy.start();
    expect(kernel.applied[0]).toStartWith(FULL);
    expect(await kernel.proxyTables("ip")).toEqual(["podnet"]);
    // A table that is there costs a check and nothing else, whatever its name.
    const checks = kernel.tableChecks.length;
    await until("three table checks", () => kernel.tableChecks.length >= checks + 3);
    expect(kernel.transactions).toHaveLength(1);
  });

  test("after a swap to `podnet-b` the periodic check finds it there and does nothing", async () => {
    const kernel = new RecordingKernel();
    kernel.leaveTable("ip", "podnet", true);
    const { s, proxy } = await setup({ checkSeconds: 0.02 }, kernel);
    await createService(s, config, service("web", "web"));
    await pod(s, "web-1", "10.244.1.5", "web");
    await proxy.start();
    expect(kernel.applied[0]).toStartWith(FULL_B);
    expect(kernel.liveName("ip")).toBe("podnet-b");
    const checks = kernel.tableChecks.length;
    await until("three table checks", () => kernel.tableChecks.length >= checks + 3);
    expect(kernel.transactions).toHaveLength(1);
    await pod(s, "web-2", "10.244.1.6", "web");
    await until("the partial sync", () => kernel.transactions.length === 2);
    expect(kernel.applied[1]).toContain("add element ip podnet-b service-endpoints-tcp");
  });

  test("a half-built table beside the live one is not taken for it, and goes with the swap", async () => {
    const kernel = new RecordingKernel();
    kernel.leaveTable("ip", "podnet", true);
    kernel.leaveTable("ip", "podnet-b", false);
    const { s, proxy } = await setup({}, kernel);
    await createService(s, config, service("web", "web"));
    await proxy.start();
    expect(kernel.applied[0]).toStartWith(FULL_B);
    expect(await kernel.proxyTables("ip")).toEqual(["podnet-b"]);
  });

  test("an IPv6 table a previous run left under either name is deleted", async () => {
    const kernel = new RecordingKernel();
    kernel.leaveTable("ip6", "podnet-b", false);
    const { s, proxy } = await setup({}, kernel);
    await createService(s, config, service("web", "web"));
    await proxy.start();
    await until("the IPv6 table to be deleted", () => !kernel.hasTable("ip6"));
    expect(kernel.hasTable("ip")).toBe(true);
  });

  test("a full sync whose elements nft had to parse is logged and counted", async () => {
    class ParsingKernel extends RecordingKernel {
      override async replaceTable(content: TableContent): Promise<ReplaceOutcome> {
        return { ...(await super.replaceTable(content)), fallback: "elements over netlink failed: test" };
      }
    }
    const { s, proxy, metric, logs } = await setup({}, new ParsingKernel());
    await createService(s, config, service("web", "web"));
    await proxy.start();
    expect(await metric(errors("netlink"))).toBe(1);
    const warning = logs.find((l) => l.msg === "full sync: nft parsed the elements (slower)");
    expect(warning?.fields?.reason).toBe("elements over netlink failed: test");
    expect(await metric(syncs("full"))).toBe(1);
  });

  test("a table check whose read a swapping sync overtook does not take the new name for a missing table", async () => {
    // The check's read is held until a sync has replaced `podnet` by `podnet-b`, then answers what
    // it saw before: `podnet` alone.
    let hold: { release: () => void; read: Promise<void> } | undefined;
    class SlowKernel extends RecordingKernel {
      override async proxyTables(family: NftFamily): Promise<readonly string[]> {
        const seen = await super.proxyTables(family);
        if (hold !== undefined) await hold.read;
        return seen;
      }
    }
    const kernel = new SlowKernel();
    const { s, proxy, logs } = await setup({ checkSeconds: 0.02 }, kernel);
    await createService(s, config, service("web", "web"));
    await pod(s, "web-1", "10.244.1.5", "web");
    await proxy.start();
    let release = () => {};
    const read = new Promise<void>((r) => {
      release = r;
    });
    hold = { release, read };
    const checks = kernel.tableChecks.length;
    await until("a check to be reading", () => kernel.tableChecks.length > checks);
    // A refused partial sync: the table is replaced in full, under the other name.
    kernel.refuseNext();
    await pod(s, "web-2", "10.244.1.6", "web");
    await until("the swap", () => kernel.liveName("ip") === "podnet-b");
    hold = undefined;
    release();
    const after = kernel.tableChecks.length;
    await until("two more checks", () => kernel.tableChecks.length >= after + 2);
    expect(logs.map((l) => l.msg)).not.toContain("podnet's nftables table is missing; replacing it in full");
    expect(kernel.transactions.map((t) => t.outcome)).toEqual(["applied", "refused", "applied"]);
  });
});
