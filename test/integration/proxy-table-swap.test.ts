/**
 * A full sync as the agent applies it (KernelCommands.replaceTable, table-swap.ts): the new table
 * built beside the old one under the free name, its elements over netlink, swapped in by one nft
 * transaction. On a real kernel: the table is the one `nft -f` of renderNft's text gives; the
 * name alternates and the old table goes; a batch the kernel refuses leaves the old table as it
 * was and nothing half-built; a table left half-built by a killed agent is neither taken for the
 * live one nor left behind; without netlink, nft parses everything and the table is the same;
 * and connections made to a ClusterIP all through a series of swaps are all answered.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { run } from "../../src/linux/exec.ts";
import { inNetns, netnsExists } from "../../src/linux/netns.ts";
import { endpoint, nodeInput, service } from "../../src/proxy/golden-cases.ts";
import { KernelCommands } from "../../src/proxy/kernel-commands.ts";
import { NftRefusedError } from "../../src/proxy/proxy-kernel.ts";
import { RandomCluster } from "../../src/proxy/random-changes.ts";
import { renderRuleset } from "../../src/proxy/ruleset.ts";
import { rulesetContent, type TableContent, tableText } from "../../src/proxy/table-content.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { proxyTableListing } from "./harness/proxy-table.ts";
import { TestRun } from "./harness/test-run.ts";

let testRun: TestRun | undefined;
let live = "";
let reference = "";

beforeAll(() => {
  testRun = new TestRun();
  live = testRun.createNetns("live").name;
  reference = testRun.createNetns("ref").name;
});

afterAll(() => {
  testRun?.dispose();
  expect(netnsExists(live)).toBe(false);
  expect(netnsExists(reference)).toBe(false);
});

const kernelIn = (netns: string) =>
  new KernelCommands({ prefix: inNetns(netns, []), netnsPath: `/run/netns/${netns}`, session: false });

async function nft(netns: string, args: readonly string[], stdin?: string): Promise<string> {
  const r = await run(inNetns(netns, ["nft", ...args]), { timeoutMs: 60_000, ...(stdin ? { stdin } : {}) });
  if (r.code !== 0) throw new Error(`nft ${args.join(" ")} in ${netns}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The same content loaded the reference way: renderNft's text in one `nft -f`. */
async function referenceListing(content: TableContent): Promise<string[]> {
  await nft(reference, ["-f", "-"], tableText(content));
  return proxyTableListing(reference, "podnet");
}

function randomContent(seed: number, steps: number): TableContent {
  const cluster = new RandomCluster(mulberry32(seed), 400);
  for (let i = 0; i < steps; i++) cluster.step();
  return rulesetContent(renderRuleset({ ...cluster.node, services: cluster.services() }));
}

const tables = async (netns: string) => [...(await kernelIn(netns).proxyTables("ip"))];

describe("full sync by swapping tables (real kernel)", () => {
  const first = randomContent(11, 300);
  const second = randomContent(12, 300);

  test("a first full sync builds `podnet`: the table nft -f of the same content gives", async () => {
    const elements = first.sets.reduce((n, s) => n + s.elements.length, 0);
    expect(elements).toBeGreaterThan(500);
    const outcome = await kernelIn(live).replaceTable(first);
    expect(outcome.table).toBe("podnet");
    // The elements went over netlink, not through nft's parser.
    expect(outcome.netlinkElements).toBeGreaterThan(500);
    expect(outcome.fallback).toBeUndefined();
    expect(await tables(live)).toEqual(["podnet"]);
    expect(await proxyTableListing(live, "podnet")).toEqual(await referenceListing(first));
  }, 120_000);

  test("the next one is built as `podnet-b` and replaces it; then `podnet` again", async () => {
    expect((await kernelIn(live).replaceTable(second)).table).toBe("podnet-b");
    expect(await tables(live)).toEqual(["podnet-b"]);
    expect(await proxyTableListing(live, "podnet-b")).toEqual(await referenceListing(second));
    expect((await kernelIn(live).replaceTable(first)).table).toBe("podnet");
    expect(await tables(live)).toEqual(["podnet"]);
    expect(await proxyTableListing(live, "podnet")).toEqual(await referenceListing(first));
  }, 120_000);

  test("a batch the kernel refuses leaves the old table as it was and no half-built one", async () => {
    const before = await proxyTableListing(live, "podnet");
    // A verdict to a chain the table does not have: nft's build is fine, the kernel refuses the element.
    const broken: TableContent = {
      ...second,
      sets: second.sets.map((s) =>
        s.set.name === "service-ips"
          ? { ...s, elements: [...s.elements, "10.111.222.1 . tcp . 80 : goto no-such-chain"] }
          : s,
      ),
    };
    const error = await kernelIn(live)
      .replaceTable(broken)
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NftRefusedError);
    expect(String(error)).toContain("service-ips");
    expect(await tables(live)).toEqual(["podnet"]);
    expect(await proxyTableListing(live, "podnet")).toEqual(before);
  }, 120_000);

  test("a half-built table a killed agent left is not taken for the live one, and goes", async () => {
    // `podnet` is live; a `podnet-b` without base chains lies beside it.
    await nft(live, ["-f", "-"], "table ip podnet-b {\n\tset cluster-ips {\n\t\ttype ipv4_addr;\n\t}\n}\n");
    expect(await tables(live)).toEqual(["podnet", "podnet-b"]);
    expect((await kernelIn(live).replaceTable(second)).table).toBe("podnet-b");
    expect(await tables(live)).toEqual(["podnet-b"]);
    expect(await proxyTableListing(live, "podnet-b")).toEqual(await referenceListing(second));
    // And the other way round: `podnet-b` live, an inert `podnet` beside it.
    await nft(live, ["-f", "-"], "table ip podnet {\n\tset cluster-ips {\n\t\ttype ipv4_addr;\n\t}\n}\n");
    expect((await kernelIn(live).replaceTable(first)).table).toBe("podnet");
    expect(await tables(live)).toEqual(["podnet"]);
    expect(await proxyTableListing(live, "podnet")).toEqual(await referenceListing(first));
  }, 120_000);

  test("an element the encoder does not read (a port as 0x50) is parsed by nft: same table, the reason told", async () => {
    const webIps = first.sets.find((s) => s.set.name === "service-ips");
    const sample = webIps?.elements[0];
    if (sample === undefined) throw new Error("the random content has no service-ips element");
    // `10.x.y.z . tcp . 80 : goto …` with the port written in hex, which nft reads and the encoder refuses.
    const odd = sample.replace(/^(\S+ \. \S+) \. \d+ :/, "$1 . 0x50 :").replace(/^\S+/, "10.111.222.2");
    expect(odd).toContain(" . 0x50 : ");
    const content: TableContent = {
      ...first,
      sets: first.sets.map((s) =>
        s.set.name === "service-ips" ? { ...s, elements: [...s.elements, odd] } : s,
      ),
    };
    const outcome = await kernelIn(live).replaceTable(content);
    expect(outcome.netlinkElements).toBe(0);
    expect(outcome.fallback).toContain("elements over netlink failed");
    expect(outcome.fallback).toContain("0x50");
    expect(await tables(live)).toEqual([outcome.table]);
    expect(await proxyTableListing(live, outcome.table)).toEqual(await referenceListing(content));
  }, 120_000);

  test("in a user namespace (socket buffers cannot be forced), a batch too large for the socket is split, still over netlink", async () => {
    // 20,000 Services × 10 endpoints in one batch: some 260,000 elements, over 10 MiB, more than
    // a socket gets there (net.core.wmem_max × 2: 8 MiB on this machine, 416 KiB by default).
    const script = `${import.meta.dir}/harness/userns-full-sync.ts`;
    const argv = ["unshare", "--user", "--map-root-user", "--net", "--", process.execPath, script];
    const r = await run([...argv, "20000", "10", "1000000"], { timeoutMs: 120_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const outcome = JSON.parse(r.stdout) as { table: string; netlinkElements: number; fallback?: string };
    expect(outcome.fallback).toBeUndefined();
    expect(outcome.netlinkElements).toBeGreaterThan(240_000);
    expect(outcome.table).toBe("podnet");
  }, 180_000);

  test("without netlink (PODNET_NETLINK=0) nft parses every element; the same table", async () => {
    const [before] = await tables(live);
    const saved = process.env.PODNET_NETLINK;
    process.env.PODNET_NETLINK = "0";
    let table: string;
    try {
      const outcome = await kernelIn(live).replaceTable(second);
      table = outcome.table;
      expect(outcome.netlinkElements).toBe(0);
      // Switched off on purpose: not a failure to report.
      expect(outcome.fallback).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.PODNET_NETLINK;
      else process.env.PODNET_NETLINK = saved;
    }
    expect(table).not.toBe(before);
    expect(await tables(live)).toEqual([table]);
    expect(await proxyTableListing(live, table)).toEqual(await referenceListing(second));
  }, 120_000);

  test("connections to a ClusterIP made all through six swaps are all answered", async () => {
    const run_ = testRun;
    if (run_ === undefined) throw new Error("no test run");
    // The client namespace holds the table (nat output DNATs its own connections, as on a node);
    // the backend answers on every pod address.
    const client = run_.createNetns("client").name;
    const backend = run_.createNetns("backend").name;
    const ip = async (ns: string, args: string) => {
      const r = await run(["ip", "-n", ns, ...args.split(" ")], { timeoutMs: 10_000 });
      if (r.code !== 0) throw new Error(`ip -n ${ns} ${args}: ${r.stderr.trim()}`);
    };
    await ip(backend, `link add c0 type veth peer name eth0 netns ${client}`);
    await ip(backend, "addr add 198.51.100.2/30 dev c0");
    await ip(backend, "link set dev c0 up");
    await ip(backend, "route add local 10.244.0.0/16 dev lo");
    await ip(client, "addr add 198.51.100.1/30 dev eth0");
    await ip(client, "link set dev eth0 up");
    await ip(client, "route add default via 198.51.100.2");
    const script = `${import.meta.dir}/harness/connect-loop.ts`;
    const server = run_.adopt(
      Bun.spawn(inNetns(backend, [process.execPath, script, "serve", "8080"]), {
        stdout: "pipe",
        stderr: "pipe",
      }),
    );
    const reader = server.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("listening");
    reader.releaseLock();

    // The Service, and 2,000 others (20,000 endpoints) so that each swap has work to do.
    const web = {
      service: service("web", ["10.96.0.10"], [{ protocol: "TCP" as const, port: 80, targetPort: 8080 }]),
      endpoints: [endpoint("10.244.1.5"), endpoint("10.244.2.7")],
    };
    const filler = (generation: number) =>
      Array.from({ length: 2000 }, (_, s) => ({
        service: service(
          `f${s}`,
          [`10.97.${s >> 8}.${s & 255}`],
          [{ protocol: "TCP" as const, port: 80, targetPort: 8080 }],
        ),
        endpoints: Array.from({ length: 10 }, (_, e) =>
          endpoint(`10.244.${100 + (((s * 10 + e + generation) >> 8) % 100)}.${(s * 10 + e) & 255}`),
        ),
      }));
    const contents = [0, 1].map((g) =>
      rulesetContent(renderRuleset(nodeInput([web, ...filler(g)], { nodeIPs: ["198.51.100.1"] }))),
    );
    const [one, two] = contents;
    if (one === undefined || two === undefined) throw new Error("no contents");
    const kernel = kernelIn(client);
    await kernel.replaceTable(one);

    const stopFile = `${run_.dir}/stop-loop`;
    const loop = run_.adopt(
      Bun.spawn(inNetns(client, [process.execPath, script, "loop", "10.96.0.10", "80", stopFile, "60000"]), {
        stdout: "pipe",
        stderr: "pipe",
      }),
    );
    const output = loop.stdout.getReader();
    let printed = "";
    const windows: [number, number][] = [];
    try {
      // The loop is connecting before the first swap.
      while (!printed.includes("connected\n")) {
        const chunk = await output.read();
        if (chunk.done) throw new Error(`the connect loop ended before connecting: ${printed}`);
        printed += new TextDecoder().decode(chunk.value);
      }
      for (let i = 0; i < 6; i++) {
        const start = Date.now();
        await kernel.replaceTable(i % 2 === 0 ? two : one);
        windows.push([start, Date.now()]);
        await Bun.sleep(100);
      }
    } finally {
      writeFileSync(stopFile, "");
    }
    for (let chunk = await output.read(); !chunk.done; chunk = await output.read())
      printed += new TextDecoder().decode(chunk.value);
    expect(await loop.exited).toBe(0);
    const out = printed.trim().split("\n").at(-1) ?? "";
    const result = JSON.parse(out) as { ok: number; failed: number; errors: string[]; started: number[] };
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    // Connections were made during every swap, not only between them.
    for (const [start, end] of windows) expect(result.started.some((t) => t >= start && t <= end)).toBe(true);
    expect(await tables(client)).toEqual(["podnet"]);
  }, 120_000);
});
