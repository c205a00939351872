import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { initClusterConfig } from "../cluster/cluster-config-store.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { openStore } from "../store/open-store.ts";
import { parseArgs, UsageError } from "./args.ts";
import { runCli } from "./run-cli.ts";
import {
  parseAffinity,
  parsePortSpec,
  parseSelector,
  parseServiceRef,
  ServiceArgumentError,
  serviceCommand,
} from "./service.ts";

describe("parsePortSpec", () => {
  test("every form of [NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto]", () => {
    const cases: [string, object][] = [
      ["80", { port: 80 }],
      ["80:8080", { port: 80, targetPort: 8080 }],
      ["http:80", { name: "http", port: 80 }],
      ["http:80:8080", { name: "http", port: 80, targetPort: 8080 }],
      ["53/udp", { port: 53, protocol: "UDP" }],
      ["dns:53:5353/UDP", { name: "dns", port: 53, targetPort: 5353, protocol: "UDP" }],
      ["80:nodeport=30080", { port: 80, nodePort: 30080 }],
      ["80/sctp:nodeport=auto", { port: 80, protocol: "SCTP", nodePort: "auto" }],
      [
        "web:443:8443/tcp:nodeport=AUTO",
        { name: "web", port: 443, targetPort: 8443, protocol: "TCP", nodePort: "auto" },
      ],
    ];
    for (const [spec, want] of cases)
      expect(parsePortSpec(spec)).toEqual(want as ReturnType<typeof parsePortSpec>);
  });

  test("bad specs are refused with the spec and the reason", () => {
    const cases: [string, string][] = [
      ["", 'port "" is not a port number'],
      ["http", 'port "http" is not a port number'],
      ["0", "from 1 to 65535"],
      ["65536", "from 1 to 65535"],
      ["80:0", 'target port "0"'],
      ["80/icmp", 'protocol "icmp" is not one of TCP, UDP, SCTP'],
      ["80:nodeport=", 'nodeport must be a number or "auto"'],
      ["80:nodeport=x1", 'nodeport must be a number or "auto"'],
      ["a:1:2:3", "use [NAME:]PORT"],
      [":80", "the port name is empty"],
    ];
    for (const [spec, reason] of cases) {
      const e = (() => {
        try {
          parsePortSpec(spec);
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(ServiceArgumentError);
      expect((e as Error).message).toStartWith(`--port "${spec}": `);
      expect((e as Error).message).toContain(reason);
    }
  });
});

describe("other arguments", () => {
  test("selectors, affinity and references", () => {
    expect(parseSelector(["app=web,tier=front", "env="])).toEqual({ app: "web", tier: "front", env: "" });
    expect(() => parseSelector(["app"])).toThrow('--selector "app": use KEY=VALUE');
    expect(() => parseSelector(["app=a", "app=b"])).toThrow("given twice");
    expect(parseAffinity("None")).toEqual({ kind: "None" });
    expect(parseAffinity("clientip")).toEqual({ kind: "ClientIP" });
    expect(parseAffinity("ClientIP:60")).toEqual({ kind: "ClientIP", timeoutSeconds: 60 });
    expect(() => parseAffinity("ClientIP:1h")).toThrow("not a number of seconds");
    expect(() => parseAffinity("Cookie")).toThrow("use None, ClientIP or ClientIP:SECONDS");
    expect(parseServiceRef("kube-system/dns")).toEqual({ namespace: "kube-system", name: "dns" });
    expect(parseServiceRef("web")).toEqual({ namespace: "default", name: "web" });
    expect(() => parseServiceRef("a/b/c")).toThrow("use NAMESPACE/NAME");
    expect(() => parseServiceRef("/b")).toThrow("use NAMESPACE/NAME");
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function cluster(): Promise<string> {
  const dir = mkdtempSync(`${tmpdir()}/podnet-svc-cli-`);
  dirs.push(dir);
  const spec = `sqlite:${dir}/cluster.db`;
  const store = await openStore(spec);
  await initClusterConfig(
    store,
    buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] }),
  );
  await putPodRecord(store, {
    namespace: "default",
    name: "web-1",
    node: "node-1",
    ips: ["10.244.1.5"],
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
    expect(created.out).toContain("default/web-1");

    const list = await run(["list", "--datastore", ds]);
    expect(list.out.split("\n")).toEqual([
      "NAMESPACE  NAME  CLUSTER-IPS  PORTS                SELECTOR  AFFINITY          ENDPOINTS",
      "default    web   10.96.0.10   80:30080/TCP,53/UDP  app=web   ClientIP (600 s)  1",
    ]);

    const shown = JSON.parse((await run(["show", "default/web", "--datastore", ds, "--json"])).out);
    expect(shown.ports).toEqual([
      { name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 },
      { protocol: "UDP", port: 53, targetPort: 53 },
    ]);
    expect(shown.sessionAffinity).toEqual({ kind: "ClientIP", timeoutSeconds: 600 });
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
      expect(await runCli(["service", "create", "default/web", "--datastore", ds])).toBe(1);
      expect(await runCli(["service", "create", "default/web", "--port", "80"])).toBe(2);
      expect(await runCli(["service", "list", "--datastore", ds, "--port", "80"])).toBe(2);
      expect(await runCli(["service", "frobnicate", "--datastore", ds])).toBe(2);
    } finally {
      errors.mockRestore();
    }
    await expect(run(["show", "--datastore", ds])).rejects.toBeInstanceOf(UsageError);
    expect((await run(["list", "--datastore", ds])).out).toBe(
      "NAMESPACE  NAME  CLUSTER-IPS  PORTS  SELECTOR  AFFINITY  ENDPOINTS",
    );
  });

  test("a datastore without a cluster config is refused", async () => {
    const dir = mkdtempSync(`${tmpdir()}/podnet-svc-cli-`);
    dirs.push(dir);
    await expect(
      run(["create", "default/web", "--datastore", `sqlite:${dir}/empty.db`, "--port", "80"]),
    ).rejects.toThrow("holds no cluster config");
  });
});
