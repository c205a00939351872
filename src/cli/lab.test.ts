import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { ListedService } from "../lab/lab-services.ts";
import { UsageError } from "./args.ts";
import { LAB_USAGE, labCommand } from "./lab.ts";
import { LAB_EXPLAIN_USAGE, LAB_TRACE_USAGE } from "./lab-diagnosis-commands.ts";
import { LAB_POD_USAGE } from "./lab-pod-command.ts";
import { formatServices } from "./lab-status-table.ts";

// A lab root with no lab in it: every command here must stop at its arguments or at "no lab".
const root = mkdtempSync(`${tmpdir()}/podnet-cli-lab-`);
const savedRoot = process.env.PODNET_LAB_ROOT;
beforeAll(() => {
  process.env.PODNET_LAB_ROOT = root;
});
afterAll(() => {
  if (savedRoot === undefined) delete process.env.PODNET_LAB_ROOT;
  else process.env.PODNET_LAB_ROOT = savedRoot;
  rmSync(root, { recursive: true, force: true });
});

async function usageOf(argv: string[]): Promise<string> {
  const error = await labCommand(argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as UsageError).message;
}

describe("labCommand's dispatch", () => {
  test("an unknown or missing sub-command prints the lab's usage", async () => {
    expect(await usageOf([])).toBe(LAB_USAGE);
    expect(await usageOf(["frobnicate"])).toBe(LAB_USAGE);
  });

  test.each([
    [["pod"], LAB_POD_USAGE],
    [["pod", "add", "node1"], LAB_POD_USAGE],
    [["pod", "delete", "web", "--labels", "a=b"], LAB_POD_USAGE],
    [["explain"], LAB_EXPLAIN_USAGE],
    [["trace", "node1-a"], LAB_TRACE_USAGE],
    [["ui", "extra"], "usage: podnet lab ui [--listen ADDR:PORT] [--token T]"],
    [["ui-serve"], "usage: podnet lab ui-serve --listen 127.0.0.1:PORT"],
    [["exec", "node1-a"], "usage: podnet lab exec POD -- CMD [ARG...]"],
    [
      ["service"],
      "usage: podnet lab service create|delete|list|show ... (as podnet service, without --datastore)",
    ],
    [
      ["service", "list", "--datastore", "sqlite:/x"],
      "podnet lab service: --datastore is the lab's own; leave it out",
    ],
    [["http-get", "http://example.com/"], "usage: podnet lab http-get http://127.0.0.1:PORT/PATH"],
    [["up", "--mode", "nat"], '--mode "nat" must be bridge or ptp'],
    [["up", "--nodes", "0"], '--nodes "0" must be an integer from 1 to'],
    [["up", "--ip-family", "ipv5"], '--ip-family "ipv5" must be one of ipv4, ipv6, dual'],
  ])("%p: %s", async (argv, usage) => {
    expect(await usageOf(argv)).toStartWith(usage);
  });

  test("-f is --file: the cluster file is read", async () => {
    await expect(labCommand(["up", "-f", `${root}/missing.yaml`])).rejects.toThrow(`${root}/missing.yaml`);
  });

  test("pod add and delete without a lab: no lab is up", async () => {
    await expect(labCommand(["pod", "add", "node1", "web"])).rejects.toThrow("No lab is up");
    await expect(labCommand(["pod", "delete", "web"])).rejects.toThrow("No lab is up");
  });
});

describe("lab dns and dns-query", () => {
  test("bad arguments stop before anything runs; without a lab, dns says so", async () => {
    await expect(labCommand(["dns", "node1-a"])).rejects.toThrow(/usage: podnet lab dns POD NAME/);
    await expect(labCommand(["dns", "node1-a", "echo", "MX"])).rejects.toThrow(/query type "MX"/);
    await expect(labCommand(["dns", "node1-a", "bad name"])).rejects.toThrow(/not a domain name/);
    await expect(labCommand(["dns-query", "echo", "A", "--timeout", "0"])).rejects.toThrow(/--timeout "0"/);
    await expect(labCommand(["dns-query", "echo"])).rejects.toThrow(/usage: podnet lab dns-query/);
    await expect(labCommand(["dns", "node1-a", "echo"])).rejects.toThrow(/No lab is up/);
  });
});

describe("the Services table", () => {
  test("a headless Service shows None as its ClusterIP, as kubectl does", async () => {
    const services: ListedService[] = [
      {
        namespace: "default",
        name: "echo-headless",
        clusterIPs: [],
        headless: true,
        ports: [{ name: "http", protocol: "TCP", port: 8080, targetPort: 8080 }],
        sessionAffinity: { kind: "None" },
        selector: { app: "echo" },
        endpoints: [{ ip: "10.244.0.2", node: "node1", pod: "default/node1-a" }],
      },
    ];
    const text = formatServices(services, ["203.0.113.100/24"]);
    expect(text).toMatch(/default\/echo-headless\s+None\s+8080\/TCP→8080\s+1 \(node1-a\)/);
    expect(text).toContain("dnsmasq serving example.test): 203.0.113.100");
  });

  test("a dual-stack pod is counted once among the endpoints", () => {
    const endpoints = ["10.244.0.2", "fd00:10:244::2"].map((ip) => ({
      ip,
      node: "node1",
      pod: "default/node1-a",
    }));
    const service: ListedService = {
      namespace: "default",
      name: "echo",
      clusterIPs: ["10.96.0.10", "fd00:10:96::a"],
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
      sessionAffinity: { kind: "None" },
      selector: { app: "echo" },
      endpoints,
    };
    expect(formatServices([service], ["203.0.113.100/24"])).toMatch(
      /default\/echo\s+10\.96\.0\.10,fd00:10:96::a\s+80\/TCP→8080\s+1 \(node1-a\)/,
    );
  });

  test("a dual lab's external host shows both addresses, primary first, without prefix length", () => {
    const text = formatServices([], ["203.0.113.100/24", "2001:db8:3::100/64"]);
    expect(text).toContain("dnsmasq serving example.test): 203.0.113.100, 2001:db8:3::100");
  });
});
