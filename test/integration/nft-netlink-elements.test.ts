/**
 * Set and map elements loaded over netlink (linux/netlink/nft-element-loader.ts) against the real
 * kernel, with nft as the judge: for every golden ruleset, a table whose elements nft parsed and a
 * table whose supported sets got theirs through loadSetElements must list the same. Also a large
 * load (many messages), IPv6, and a refused batch, which must leave nothing behind: one batch is
 * one transaction. loadSetElementsInSteps: the same table from several transactions, and a refusal
 * in a later one leaving exactly the batches before it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../../src/linux/exec.ts";
import type { ElementLoad, NftFamily } from "../../src/linux/netlink/nft-element-batch.ts";
import {
  loadSetElements,
  loadSetElementsInSteps,
  NftElementsRefusedError,
} from "../../src/linux/netlink/nft-element-loader.ts";
import { ElementSyntaxError, elementLayout } from "../../src/linux/netlink/nft-element-types.ts";
import { inNetns, netnsExists } from "../../src/linux/netns.ts";
import { TestRun } from "./harness/test-run.ts";

const GOLDEN = join(import.meta.dir, "../../src/proxy/golden");

let testRun: TestRun | undefined;
let ns = { name: "", path: "" };

beforeAll(() => {
  testRun = new TestRun();
  ns = testRun.createNetns("nl");
});

afterAll(() => {
  testRun?.dispose();
  expect(netnsExists(ns.name)).toBe(false);
});

async function nftFile(text: string): Promise<void> {
  const path = join(testRun?.dir ?? "/nonexistent", "ruleset.nft");
  writeFileSync(path, text);
  const r = await run(inNetns(ns.name, ["nft", "-f", path]), { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`nft refused the ruleset: ${r.stderr.trim()}\n${text.slice(0, 2000)}`);
}

/** `nft list table` with the table's name replaced by NAME, so two tables can be compared. */
async function listTable(family: NftFamily, table: string): Promise<string> {
  const r = await run(inNetns(ns.name, ["nft", "list", "table", family, table]), { timeoutMs: 60_000 });
  expect(r.stderr).toBe("");
  return r.stdout.replace(`table ${family} ${table} {`, `table ${family} NAME {`);
}

interface GoldenSet {
  readonly name: string;
  readonly load: ElementLoad | undefined;
  /** The `elements = { … }` block as it stands in the text. */
  readonly block: string;
}

/** The golden text's sets and maps, with a load for each that elementLayout supports. */
function goldenSets(text: string): GoldenSet[] {
  const re =
    /\t(?:set|map) (\S+) \{\n\t\t(type|typeof) ([^;]+);(?: flags ([^;]+);)?[^\n]*\n(\t\telements = \{\n([\s\S]*?)\n\t\t\}\n)?/g;
  return [...text.matchAll(re)].map((m) => {
    const [type, data] = (m[3] as string).split(" : ");
    const layout = elementLayout({
      type: type as string,
      ...(data === undefined ? {} : { data }),
      typeOf: m[2] === "typeof",
      flags: m[4] ? m[4].split(",") : [],
    });
    const elements = m[6] ? m[6].split(",\n").map((e) => e.trim()) : [];
    const name = m[1] as string;
    return { name, load: layout && { name, layout, elements }, block: m[5] ?? "" };
  });
}

function renamed(text: string, table: string): string {
  return text.replace(/(table ip6? )podnet(?=[\s{])/g, `$1${table}`);
}

describe("set elements loaded over netlink list as nft's own", () => {
  const files = readdirSync(GOLDEN).filter((f) => f.endsWith(".nft"));

  test.each(files)("golden %s", async (file) => {
    const golden = readFileSync(join(GOLDEN, file), "utf8");
    const family: NftFamily = golden.startsWith("add table ip6 ") ? "ip6" : "ip";
    const sets = goldenSets(golden);
    expect(sets.length).toBeGreaterThan(10);
    let netlinkText = renamed(golden, "podnet-nl");
    const loads: ElementLoad[] = [];
    for (const s of sets) {
      if (!s.load) continue;
      loads.push(s.load);
      if (s.block) netlinkText = netlinkText.replace(s.block, "");
    }
    await nftFile(`${golden}\n${netlinkText}`);
    const expected = await listTable(family, "podnet");
    const elements = loads.reduce((n, l) => n + l.elements.length, 0);
    if (elements > 0) expect(await listTable(family, "podnet-nl")).not.toBe(expected);

    const result = loadSetElements(family, "podnet-nl", loads, { netnsPath: ns.path });
    expect(result.elements).toBe(elements);
    expect(await listTable(family, "podnet-nl")).toBe(expected);
    await nftFile(`delete table ${family} podnet\ndelete table ${family} podnet-nl\n`);
  });
});

const ENDPOINTS_DECL = (family: NftFamily, proto: string) => {
  const ip = family === "ip" ? "ip" : "ip6";
  return `typeof ${ip} daddr . ${proto} dport . numgen random mod 1 : ${ip} daddr . ${proto} dport`;
};

/** A table with a set and an endpoint map, elements from nft or (none) for netlink. */
function table(family: NftFamily, name: string, sets: { name: string; decl: string; elements: string[] }[]) {
  const body = sets
    .map(
      (s) =>
        `\t${s.decl.includes(" : ") ? "map" : "set"} ${s.name} {\n\t\t${s.decl};\n` +
        (s.elements.length ? `\t\telements = {\n${s.elements.join(",\n")}\n\t\t}\n` : "") +
        "\t}\n",
    )
    .join("");
  return `table ${family} ${name} {\n${body}\tchain c {\n\t}\n}\n`;
}

function layoutOf(decl: string) {
  const typeOf = decl.startsWith("typeof ");
  const [key, data] = decl.replace(/^typeof |^type /, "").split(" : ");
  const layout = elementLayout({ type: key as string, ...(data ? { data } : {}), typeOf, flags: [] });
  if (!layout) throw new Error(`no layout for ${decl}`);
  return layout;
}

/** nft-loaded table `ref` against netlink-loaded table `nl`, same declarations and elements. */
async function compareLoads(
  family: NftFamily,
  sets: { name: string; decl: string; elements: string[] }[],
): Promise<ReturnType<typeof loadSetElements>> {
  await nftFile(
    table(family, "ref", sets) +
      table(
        family,
        "nl",
        sets.map((s) => ({ ...s, elements: [] })),
      ),
  );
  const result = loadSetElements(
    family,
    "nl",
    sets.map((s) => ({ name: s.name, layout: layoutOf(s.decl), elements: s.elements })),
    { netnsPath: ns.path },
  );
  expect(await listTable(family, "nl")).toBe(await listTable(family, "ref"));
  await nftFile(`delete table ${family} ref\ndelete table ${family} nl\n`);
  return result;
}

describe("loadSetElements", () => {
  test("100,000 endpoint elements and 10,000 service addresses in one transaction of many messages", async () => {
    const endpoints: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const s = Math.floor(i / 10);
      endpoints.push(
        `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255} . 80 . ${i % 10} : 10.${244 + (i >> 16)}.${(i >> 8) & 255}.${i & 255} . 8080`,
      );
    }
    const clusterIps = Array.from({ length: 10_000 }, (_, s) => `10.96.${s >> 8}.${s & 255}`);
    const result = await compareLoads("ip", [
      { name: "cluster-ips", decl: "type ipv4_addr", elements: clusterIps },
      { name: "service-endpoints-tcp", decl: ENDPOINTS_DECL("ip", "tcp"), elements: endpoints },
    ]);
    expect(result.elements).toBe(110_000);
    expect(result.messages).toBeGreaterThan(60);
  });

  test("IPv6 addresses in their several written forms", async () => {
    const endpoints: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const svc =
        i % 3 === 0 ? `fd00:10:96::${(i >> 4).toString(16)}` : `fd00:10:96:0:0:0:0:${(i >> 4).toString(16)}`;
      const pod =
        i % 2 ? `fd00:10:244:${i >> 8}::${(i & 255).toString(16)}` : `::ffff:10.244.${i >> 8}.${i & 255}`;
      endpoints.push(`${svc} . ${i % 65536} . ${i % 16} : ${pod} . ${8000 + (i % 100)}`);
    }
    await compareLoads("ip6", [
      {
        name: "hairpin",
        decl: "type ipv6_addr . ipv6_addr",
        elements: ["2001:db8::1 . 2001:DB8:0::1", ":: . ::1"],
      },
      { name: "service-endpoints-udp", decl: ENDPOINTS_DECL("ip6", "udp"), elements: endpoints },
    ]);
  });

  test("lone unpadded fields, value maps and every verdict", async () => {
    await compareLoads("ip", [
      { name: "ports", decl: "type inet_service", elements: ["0", "80", "65535"] },
      { name: "protos", decl: "typeof meta l4proto", elements: ["tcp", "udp", "132", "icmp"] },
      {
        name: "verdicts",
        decl: "type inet_proto . inet_service : verdict",
        elements: [
          "tcp . 1 : accept",
          "tcp . 2 : drop",
          "tcp . 3 : continue",
          "tcp . 4 : return",
          "tcp . 5 : jump c",
          "udp . 6 : goto c",
        ],
      },
      { name: "addresses", decl: "type ipv4_addr : ipv4_addr", elements: ["10.0.0.1 : 192.0.2.1"] },
    ]);
  });

  test("a batch the kernel refuses in part is applied not at all, and the error names the set", async () => {
    const sets = [
      { name: "cluster-ips", decl: "type ipv4_addr", elements: [] },
      { name: "service-endpoints-tcp", decl: ENDPOINTS_DECL("ip", "tcp"), elements: [] },
    ];
    await nftFile(table("ip", "podnet-r", sets));
    const before = await listTable("ip", "podnet-r");
    const endpoints = Array.from(
      { length: 5000 },
      (_, i) => `10.96.0.1 . 80 . ${i} : 10.244.${i >> 8}.${i & 255} . 8080`,
    );
    const loads: ElementLoad[] = [
      { name: "cluster-ips", layout: layoutOf("type ipv4_addr"), elements: ["10.96.0.1", "10.96.0.2"] },
      { name: "no-such-set", layout: layoutOf("type ipv4_addr"), elements: ["10.96.0.3"] },
      { name: "service-endpoints-tcp", layout: layoutOf(sets[1]?.decl as string), elements: endpoints },
    ];
    let error: unknown;
    try {
      loadSetElements("ip", "podnet-r", loads, { netnsPath: ns.path });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NftElementsRefusedError);
    expect((error as NftElementsRefusedError).refusals).toEqual([{ set: "no-such-set", errno: 2 }]);
    expect((error as Error).message).toContain("set no-such-set of ip podnet-r: No such file or directory");
    expect(await listTable("ip", "podnet-r")).toBe(before);

    // The same batch without the bad set goes through: it was the one refusal that undid it.
    loadSetElements("ip", "podnet-r", [loads[0], loads[2]] as ElementLoad[], { netnsPath: ns.path });
    expect(await listTable("ip", "podnet-r")).not.toBe(before);
    await nftFile("delete table ip podnet-r\n");
  });

  test("an element that does not parse stops the load before anything is sent", async () => {
    await nftFile(table("ip", "podnet-p", [{ name: "cluster-ips", decl: "type ipv4_addr", elements: [] }]));
    const before = await listTable("ip", "podnet-p");
    const layout = layoutOf("type ipv4_addr");
    expect(() =>
      loadSetElements(
        "ip",
        "podnet-p",
        [{ name: "cluster-ips", layout, elements: ["10.96.0.1", "10.96.0.256"] }],
        {
          netnsPath: ns.path,
        },
      ),
    ).toThrow(ElementSyntaxError);
    expect(await listTable("ip", "podnet-p")).toBe(before);
    await nftFile("delete table ip podnet-p\n");
  });

  test("nothing to load opens no socket at all", () => {
    const layout = layoutOf("type ipv4_addr");
    expect(
      loadSetElements("ip", "podnet", [{ name: "cluster-ips", layout, elements: [] }], {
        netnsPath: "/nonexistent/netns",
      }),
    ).toMatchObject({ elements: 0, messages: 0, bytes: 0 });
  });
});

describe("loadSetElementsInSteps", () => {
  const endpoints = (n: number, proto: string) =>
    Array.from(
      { length: n },
      (_, i) =>
        `10.96.${i >> 12}.${(i >> 4) & 255} . ${proto === "tcp" ? 80 : 53} . ${i & 15} : 10.244.${i >> 8}.${i & 255} . 8080`,
    );

  test("35,000 elements in 4 transactions, a set spanning three of them, list as nft -f's", async () => {
    const sets = [
      {
        name: "cluster-ips",
        decl: "type ipv4_addr",
        elements: Array.from({ length: 5000 }, (_, s) => `10.96.${s >> 8}.${s & 255}`),
      },
      {
        name: "service-endpoints-tcp",
        decl: ENDPOINTS_DECL("ip", "tcp"),
        elements: endpoints(25_000, "tcp"),
      },
      { name: "service-endpoints-udp", decl: ENDPOINTS_DECL("ip", "udp"), elements: endpoints(5000, "udp") },
    ];
    await nftFile(
      table("ip", "ref", sets) +
        table(
          "ip",
          "nl",
          sets.map((s) => ({ ...s, elements: [] })),
        ),
    );
    const result = await loadSetElementsInSteps(
      "ip",
      "nl",
      sets.map((s) => ({ name: s.name, layout: layoutOf(s.decl), elements: s.elements })),
      { netnsPath: ns.path, elementsPerBatch: 10_000 },
    );
    expect(result).toMatchObject({ elements: 35_000, batches: 4 });
    expect(await listTable("ip", "nl")).toBe(await listTable("ip", "ref"));
    await nftFile("delete table ip ref\ndelete table ip nl\n");
  });

  test("a refusal in batch 3 of 3 leaves batches 1 and 2 applied, and says so", async () => {
    const decls = [
      { name: "cluster-ips", decl: "type ipv4_addr" },
      { name: "service-endpoints-tcp", decl: ENDPOINTS_DECL("ip", "tcp") },
    ];
    const ips = ["10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4"];
    const eps = endpoints(4, "tcp");
    // What batches 1 and 2 hold, loaded by nft: the judge of what the refused load left behind.
    await nftFile(
      table("ip", "ref", [
        { ...decls[0]!, elements: ips },
        { ...decls[1]!, elements: eps },
      ]) +
        table(
          "ip",
          "podnet-r",
          decls.map((d) => ({ ...d, elements: [] })),
        ),
    );
    let error: unknown;
    try {
      await loadSetElementsInSteps(
        "ip",
        "podnet-r",
        [
          { name: "cluster-ips", layout: layoutOf(decls[0]!.decl), elements: ips },
          { name: "service-endpoints-tcp", layout: layoutOf(decls[1]!.decl), elements: eps },
          { name: "no-such-set", layout: layoutOf("type ipv4_addr"), elements: ["10.96.0.9"] },
        ],
        { netnsPath: ns.path, elementsPerBatch: 4 },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NftElementsRefusedError);
    expect((error as NftElementsRefusedError).appliedBatches).toBe(2);
    expect((error as Error).message).toBe(
      "Kernel refused elements (batch 3 of 3: batches 1-2 applied, nothing of batch 3): set no-such-set of ip podnet-r: No such file or directory",
    );
    expect(await listTable("ip", "podnet-r")).toBe(await listTable("ip", "ref"));
    await nftFile("delete table ip ref\ndelete table ip podnet-r\n");
  });

  test("an element that does not parse in the last batch stops the load before the first is sent", async () => {
    await nftFile(table("ip", "podnet-p", [{ name: "cluster-ips", decl: "type ipv4_addr", elements: [] }]));
    const before = await listTable("ip", "podnet-p");
    const elements = [...Array.from({ length: 20 }, (_, i) => `10.96.0.${i + 1}`), "10.96.0.256"];
    let error: unknown;
    try {
      await loadSetElementsInSteps(
        "ip",
        "podnet-p",
        [{ name: "cluster-ips", layout: layoutOf("type ipv4_addr"), elements }],
        { netnsPath: ns.path, elementsPerBatch: 5 },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ElementSyntaxError);
    expect(await listTable("ip", "podnet-p")).toBe(before);
    await nftFile("delete table ip podnet-p\n");
  });
});
