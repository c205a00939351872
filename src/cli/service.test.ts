import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { initClusterConfig } from "../cluster/cluster-config-store.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { openStore } from "../store/open-store.ts";
import { parseArgs, UsageError } from "./args.ts";
import { runCli } from "./run-cli.ts";
import { serviceCommand } from "./service.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function cluster(dual = false): Promise<string> {
  const dir = mkdtempSync(`${tmpdir()}/podnet-svc-cli-`);
  dirs.push(dir);
  const spec = `sqlite:${dir}/cluster.db`;
  const store = await openStore(spec);
  await initClusterConfig(
    store,
    buildClusterConfig(
      dual
        ? {
            clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
            serviceCidrs: ["10.96.0.0/24", "fd00:10:96::/112"],
          }
        : { clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] },
    ),
  );
  await putPodRecord(store, {
    namespace: "default",
    name: "web-1",
    node: "node-1",
    ips: dual ? ["10.244.1.5", "fd00:10:244:1::5"] : ["10.244.1.5"],
    labels: { app: "web" },
  });
  await putPodRecord(store, {
    namespace: "default",
    name: "db-1",
    node: "node-1",
    ips: ["10.244.1.6"],
    labels: { app: "db" },
  });
  await store.close();
  return spec;
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await serviceCommand(argv, (a) => parseArgs(a, ["json", "help"]), {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("podnet service", () => {
  test("create, list, show and delete against a datastore", async () => {
    const ds = await cluster();
    const created = await run([
      "create",
      "default/web",
      "--datastore",
      ds,
      "--port",
      "http:80:8080:nodeport=30080",
      "--port",
      "53/udp",
      "--cluster-ip",
      "10.96.0.10",
      "--selector",
      "app=web",
      "--affinity",
      "ClientIP:600",
    ]);
    expect(created.code).toBe(0);
    expect(created.out).toContain("created service default/web");
    expect(created.out).toContain("cluster IPs:      10.96.0.10");
    expect(created.out).toContain("families:         IPv4 (SingleStack)");
    expect(created.out).toContain("default/web-1");

    const list = await run(["list", "--datastore", ds]);
    expect(list.out.split("\n")).toEqual([
      "NAMESPACE  NAME  CLUSTER-IPS  FAMILIES            PORTS                SELECTOR  AFFINITY          ENDPOINTS",
      "default    web   10.96.0.10   IPv4 (SingleStack)  80:30080/TCP,53/UDP  app=web   ClientIP (600 s)  1",
    ]);

    const shown = JSON.parse((await run(["show", "default/web", "--datastore", ds, "--json"])).out);
    expect(shown.ports).toEqual([
      { name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 },
      { protocol: "UDP", port: 53, targetPort: 53 },
    ]);
    expect(shown.sessionAffinity).toEqual({ kind: "ClientIP", timeoutSeconds: 600 });
    expect([shown.ipFamilies, shown.ipFamilyPolicy]).toEqual([["IPv4"], "SingleStack"]);
    expect(shown.endpoints).toEqual([{ ip: "10.244.1.5", node: "node-1", pod: "default/web-1" }]);

    const deleted = await run(["delete", "default/web", "--datastore", ds]);
    expect(deleted.out).toBe(
      "deleted service default/web; released ClusterIP 10.96.0.10, NodePort 30080/TCP",
    );
    const empty = JSON.parse((await run(["list", "--datastore", ds, "--json"])).out);
    expect(empty).toEqual({ services: [], invalid: [] });
  });

  test("bad values and missing Services exit 1 with the reason; malformed command lines are usage errors", async () => {
    const ds = await cluster();
    const errors = spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await runCli(["service", "create", "default/web", "--datastore", ds, "--port", "80/icmp"])).toBe(
        1,
      );
      expect(
        await runCli(["service", "create", "default/web", "--datastore", ds, "--port", "80:nodeport=99"]),
      ).toBe(1);
      expect(await runCli(["service", "create", "Default/web", "--datastore", ds, "--port", "80"])).toBe(1);
      expect(await runCli(["service", "show", "default/nope", "--datastore", ds])).toBe(1);
      expect(await runCli(["service", "delete", "default/nope", "--datastore", ds])).toBe(1);
      const messages = errors.mock.calls.map((c) => String(c[0]));
      expect(messages[0]).toContain('--port "80/icmp": protocol "icmp"');
      expect(messages[1]).toContain("ports[0].nodePort");
      expect(messages[2]).toContain('Invalid Service "Default/web": namespace');
      expect(messages[3]).toBe('podnet: Service "default/nope" does not exist');
      const families = ["service", "create", "web", "--datastore", ds, "--port", "80"];
      expect(await runCli([...families, "--ip-family-policy", "DualStack"])).toBe(1);
      expect(await runCli([...families, "--ip-family-policy", "RequireDualStack"])).toBe(1);
      expect(await runCli([...families, "--ip-family", "IPv6"])).toBe(1);
      const more = errors.mock.calls.slice(5).map((c) => String(c[0]));
      expect(more[0]).toContain(
        '--ip-family-policy "DualStack": use SingleStack, PreferDualStack, RequireDualStack',
      );
      expect(more[1]).toContain(
        "ipFamilyPolicy is RequireDualStack, but the cluster has no IPv6 service CIDR",
      );
      expect(more[2]).toContain("ipFamilies[0] is IPv6, but the cluster has no IPv6 service CIDR");
      expect(await runCli(["service", "create", "default/web", "--datastore", ds])).toBe(1);
      expect(await runCli(["service", "create", "default/web", "--port", "80"])).toBe(2);
      expect(await runCli(["service", "list", "--datastore", ds, "--port", "80"])).toBe(2);
      expect(await runCli(["service", "frobnicate", "--datastore", ds])).toBe(2);
    } finally {
      errors.mockRestore();
    }
    await expect(run(["show", "--datastore", ds])).rejects.toBeInstanceOf(UsageError);
    expect((await run(["list", "--datastore", ds])).out).toBe(
      "NAMESPACE  NAME  CLUSTER-IPS  FAMILIES  PORTS  SELECTOR  AFFINITY  ENDPOINTS",
    );
  });

  test("a headless Service: no ClusterIP, no NodePort, shown as None; unready pods apart from ready ones", async () => {
    const ds = await cluster();
    const store = await openStore(ds);
    for (const [name, ip, ready] of [
      ["db-2", "10.244.1.7", true],
      ["db-3", "10.244.1.8", false],
    ] as const)
      await putPodRecord(store, {
        namespace: "default",
        name,
        node: "node-2",
        ips: [ip],
        labels: { app: "db" },
        ready,
      });
    await store.close();

    const refused = await run([
      "create",
      "db",
      "--headless",
      "--datastore",
      ds,
      "--port",
      "5432:nodeport=auto",
    ]).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toContain(
      'ports[0].nodePort is "auto": a headless Service has no NodePorts',
    );

    const created = await run([
      "create",
      "db",
      "--headless",
      "--datastore",
      ds,
      "--port",
      "pg:5432",
      "--selector",
      "app=db",
    ]);
    expect(created.code).toBe(0);
    expect(created.out).toContain("cluster IPs:      None (headless)");
    expect(created.out).toContain(
      [
        "ENDPOINT POD  NODE    IP          READY",
        "default/db-1  node-1  10.244.1.6  yes",
        "default/db-2  node-2  10.244.1.7  yes",
        "default/db-3  node-2  10.244.1.8  no",
      ].join("\n"),
    );
    expect((await run(["list", "--datastore", ds])).out.split("\n")[1]).toBe(
      "default    db    None         IPv4 (SingleStack)  5432/TCP  app=db    None      2 (1 not ready)",
    );
    const shown = JSON.parse((await run(["show", "db", "--datastore", ds, "--json"])).out);
    expect(shown).toMatchObject({ headless: true, clusterIPs: [] });
    expect(shown.endpoints.map((e: { pod: string }) => e.pod)).toEqual(["default/db-1", "default/db-2"]);
    expect(shown.notReadyEndpoints).toEqual([{ ip: "10.244.1.8", node: "node-2", pod: "default/db-3" }]);
    // A headless Service holds nothing besides its record.
    expect((await run(["delete", "db", "--datastore", ds])).out).toBe("deleted service default/db");
  });

  test("a Service whose pods are all unready says its connections are refused", async () => {
    const ds = await cluster();
    const store = await openStore(ds);
    await putPodRecord(store, {
      namespace: "default",
      name: "web-1",
      node: "node-1",
      ips: ["10.244.1.5"],
      labels: { app: "web" },
      ready: false,
    });
    await store.close();
    const created = await run(["create", "web", "--datastore", ds, "--port", "80", "--selector", "app=web"]);
    expect(created.out).toEndWith(
      [
        "ENDPOINT POD   NODE    IP          READY",
        "default/web-1  node-1  10.244.1.5  no",
        "no endpoint is ready: connections to it are refused",
      ].join("\n"),
    );
  });

  test("families on a dual-stack cluster: SingleStack by default, both with PreferDualStack, in --ip-family order", async () => {
    const ds = await cluster(true);
    const one = JSON.parse((await run(["create", "one", "--datastore", ds, "--port", "80", "--json"])).out);
    expect(one.clusterIPs).toHaveLength(1);
    expect([one.ipFamilies, one.ipFamilyPolicy]).toEqual([["IPv4"], "SingleStack"]);
    const both = await run([
      "create",
      "web",
      "--datastore",
      ds,
      "--port",
      "80",
      "--selector",
      "app=web",
      "--ip-family-policy",
      "PreferDualStack",
      "--ip-family",
      "IPv6",
      "--cluster-ip",
      "fd00:10:96::a",
    ]);
    expect(both.out).toMatch(/cluster IPs: {6}fd00:10:96::a, 10\.96\.0\.\d+\n/);
    expect(both.out).toContain("families:         IPv6,IPv4 (PreferDualStack)");
    expect(both.out).toContain("default/web-1  node-1  10.244.1.5");
    expect(both.out).toContain("default/web-1  node-1  fd00:10:244:1::5");
    const v6 = JSON.parse(
      (
        await run([
          "create",
          "web6",
          "--datastore",
          ds,
          "--port",
          "80",
          "--selector",
          "app=web",
          "--ip-family",
          "ipv6",
          "--json",
        ])
      ).out,
    );
    expect([v6.ipFamilies, v6.ipFamilyPolicy]).toEqual([["IPv6"], "SingleStack"]);
    // Its endpoints are the pods' addresses of its family only.
    const shown = JSON.parse((await run(["show", "web6", "--datastore", ds, "--json"])).out);
    expect(shown.endpoints).toEqual([{ ip: "fd00:10:244:1::5", node: "node-1", pod: "default/web-1" }]);
    const rows = (await run(["list", "--datastore", ds])).out.split("\n").map((r) => r.split(/ {2,}/)[3]);
    expect(rows).toEqual([
      "FAMILIES",
      "IPv4 (SingleStack)",
      "IPv6,IPv4 (PreferDualStack)",
      "IPv6 (SingleStack)",
    ]);
  });

  test("a datastore without a cluster config is refused", async () => {
    const dir = mkdtempSync(`${tmpdir()}/podnet-svc-cli-`);
    dirs.push(dir);
    await expect(
      run(["create", "default/web", "--datastore", `sqlite:${dir}/empty.db`, "--port", "80"]),
    ).rejects.toThrow("holds no cluster config");
  });
});
