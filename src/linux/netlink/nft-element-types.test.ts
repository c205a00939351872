import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ElementLayout,
  ElementSyntaxError,
  elementLayout,
  FIELD_TYPES,
  type SetDeclaration,
  writeValue,
} from "./nft-element-types.ts";

const GOLDEN = join(import.meta.dir, "../../proxy/golden");

/** Every set and map declaration of the golden rulesets, as `set NAME { type …; flags …; }`. */
function goldenDeclarations(): { file: string; name: string; decl: SetDeclaration }[] {
  const out: { file: string; name: string; decl: SetDeclaration }[] = [];
  for (const file of readdirSync(GOLDEN).filter((f) => f.endsWith(".nft"))) {
    const text = readFileSync(join(GOLDEN, file), "utf8");
    for (const m of text.matchAll(
      /\t(?:set|map) (\S+) \{\n\t\t(type|typeof) ([^;]+);(?: flags ([^;]+);)?/g,
    )) {
      const [key, data] = (m[3] as string).split(" : ");
      out.push({
        file,
        name: m[1] as string,
        decl: {
          type: key as string,
          ...(data === undefined ? {} : { data }),
          typeOf: m[2] === "typeof",
          flags: m[4] ? m[4].split(",") : [],
        },
      });
    }
  }
  return out;
}

const sizes = (l: ElementLayout | undefined) =>
  l && {
    key: l.key.map((f) => [f.type.name, f.width]),
    keyLength: l.keyLength,
    data: l.data.kind === "value" ? [l.data.length, ...l.data.fields.map((f) => f.type.name)] : l.data.kind,
  };

describe("elementLayout", () => {
  test("every declaration of the golden rulesets: plain sets and maps known, interval and affinity sets not", () => {
    const decls = goldenDeclarations();
    expect(decls.length).toBeGreaterThan(100);
    const byShape = new Map<string, unknown>();
    for (const { name, decl } of decls) {
      const layout = elementLayout(decl);
      const shape = `${decl.typeOf ? "typeof" : "type"} ${decl.type}${decl.data ? ` : ${decl.data}` : ""} [${decl.flags}]`;
      if (["pod-cidrs", "no-masquerade"].includes(name) || name.startsWith("aff-"))
        expect(layout).toBeUndefined();
      else expect(layout).toBeDefined();
      byShape.set(shape, sizes(layout));
    }
    expect(Object.fromEntries(byShape)).toEqual({
      "type ipv4_addr [interval]": undefined,
      "type ipv6_addr [interval]": undefined,
      "type ipv4_addr [dynamic,timeout]": undefined,
      "type ipv4_addr []": { key: [["ipv4_addr", 4]], keyLength: 4, data: "none" },
      "type ipv6_addr []": { key: [["ipv6_addr", 16]], keyLength: 16, data: "none" },
      "type inet_proto . inet_service []": {
        key: [
          ["inet_proto", 4],
          ["inet_service", 4],
        ],
        keyLength: 8,
        data: "none",
      },
      "type ipv4_addr . ipv4_addr []": {
        key: [
          ["ipv4_addr", 4],
          ["ipv4_addr", 4],
        ],
        keyLength: 8,
        data: "none",
      },
      "type ipv6_addr . ipv6_addr []": {
        key: [
          ["ipv6_addr", 16],
          ["ipv6_addr", 16],
        ],
        keyLength: 32,
        data: "none",
      },
      "type ipv4_addr . inet_proto . inet_service : verdict []": {
        key: [
          ["ipv4_addr", 4],
          ["inet_proto", 4],
          ["inet_service", 4],
        ],
        keyLength: 12,
        data: "verdict",
      },
      "type ipv6_addr . inet_proto . inet_service : verdict []": {
        key: [
          ["ipv6_addr", 16],
          ["inet_proto", 4],
          ["inet_service", 4],
        ],
        keyLength: 24,
        data: "verdict",
      },
      "type inet_proto . inet_service : verdict []": {
        key: [
          ["inet_proto", 4],
          ["inet_service", 4],
        ],
        keyLength: 8,
        data: "verdict",
      },
      ...Object.fromEntries(
        ["tcp", "udp", "sctp"].flatMap((p) => [
          [
            `typeof ip daddr . ${p} dport . numgen random mod 1 : ip daddr . ${p} dport []`,
            {
              key: [
                ["ipv4_addr", 4],
                ["inet_service", 4],
                ["integer", 4],
              ],
              keyLength: 12,
              data: [8, "ipv4_addr", "inet_service"],
            },
          ],
          [
            `typeof ${p} dport . numgen random mod 1 : ip daddr . ${p} dport []`,
            {
              key: [
                ["inet_service", 4],
                ["integer", 4],
              ],
              keyLength: 8,
              data: [8, "ipv4_addr", "inet_service"],
            },
          ],
          [
            `typeof ip6 daddr . ${p} dport . numgen random mod 1 : ip6 daddr . ${p} dport []`,
            {
              key: [
                ["ipv6_addr", 16],
                ["inet_service", 4],
                ["integer", 4],
              ],
              keyLength: 24,
              data: [20, "ipv6_addr", "inet_service"],
            },
          ],
          [
            `typeof ${p} dport . numgen random mod 1 : ip6 daddr . ${p} dport []`,
            {
              key: [
                ["inet_service", 4],
                ["integer", 4],
              ],
              keyLength: 8,
              data: [20, "ipv6_addr", "inet_service"],
            },
          ],
        ]),
      ),
    });
  });

  test("a lone field keeps its own size: the set's key length is exact", () => {
    expect(sizes(elementLayout({ type: "inet_service", flags: [] }))).toEqual({
      key: [["inet_service", 2]],
      keyLength: 2,
      data: "none",
    });
    expect(sizes(elementLayout({ type: "meta l4proto", typeOf: true, data: "verdict", flags: [] }))).toEqual({
      key: [["inet_proto", 1]],
      keyLength: 1,
      data: "verdict",
    });
    expect(sizes(elementLayout({ type: "ipv4_addr", data: "ipv4_addr", flags: [] }))?.data).toEqual([
      4,
      "ipv4_addr",
    ]);
  });

  test("flags, unknown types and over-long values are left to nft", () => {
    for (const decl of [
      { type: "ipv4_addr", flags: ["interval"] },
      { type: "ipv4_addr", flags: ["timeout"] },
      { type: "ipv4_addr", flags: ["dynamic"] },
      { type: "ipv4_addr", flags: ["constant"] },
      { type: "ether_addr", flags: [] },
      { type: "mark", flags: [] },
      { type: "ip daddr", flags: [] }, // an expression where a type is expected
      { type: "ipv4_addr", typeOf: true, flags: [] }, // a type where an expression is expected
      { type: "ip dscp", typeOf: true, flags: [] },
      { type: "numgen random mod 0", typeOf: true, flags: [] },
      { type: "ipv4_addr", data: "ether_addr", flags: [] },
      { type: "ipv6_addr . ipv6_addr . ipv6_addr . ipv6_addr . inet_service", flags: [] },
    ])
      expect(elementLayout(decl)).toBeUndefined();
  });
});

/** The bytes writeValue gives for `text` under the declared key, or its complaint. */
function keyBytes(type: string, text: string, typeOf = false): number[] | string {
  const layout = elementLayout({ type, typeOf, flags: [] });
  if (!layout) throw new Error(`no layout for ${type}`);
  const out = new Uint8Array(layout.keyLength);
  const why = writeValue(layout.key, text, 0, text.length, out, 0);
  return why ?? [...out];
}

describe("writeValue", () => {
  test("concatenations in network order, each field padded to 4 bytes", () => {
    expect(keyBytes("ipv4_addr . inet_proto . inet_service", "10.96.0.10 . tcp . 80")).toEqual([
      10, 96, 0, 10, 6, 0, 0, 0, 0, 80, 0, 0,
    ]);
    expect(keyBytes("inet_proto . inet_service", "sctp . 30080")).toEqual([132, 0, 0, 0, 0x75, 0x80, 0, 0]);
    expect(keyBytes("inet_proto . inet_service", "17 . 65535")).toEqual([17, 0, 0, 0, 255, 255, 0, 0]);
    expect(keyBytes("ipv4_addr . ipv4_addr", "10.244.1.5 . 10.244.1.5")).toEqual([
      10, 244, 1, 5, 10, 244, 1, 5,
    ]);
    expect(keyBytes("meta l4proto . th dport", "icmpv6 . 0", true)).toEqual([58, 0, 0, 0, 0, 0, 0, 0]);
  });

  test("numgen's value is a host-order u32", () => {
    const host = new Uint8Array(new Uint32Array([0x01020304]).buffer);
    expect(
      keyBytes("ip daddr . tcp dport . numgen random mod 5", "10.96.0.10 . 80 . 16909060", true),
    ).toEqual([10, 96, 0, 10, 0, 80, 0, 0, ...host]);
  });

  test("a lone field is not padded", () => {
    expect(keyBytes("inet_service", "8080")).toEqual([0x1f, 0x90]);
    expect(keyBytes("inet_proto", "udp")).toEqual([17]);
  });

  test("values that do not parse say which field and why", () => {
    const k = "ipv4_addr . inet_proto . inet_service";
    expect(keyBytes(k, "10.96.0.256 . tcp . 80")).toBe('"10.96.0.256" is not an IPv4 address');
    expect(keyBytes(k, "10.96.0.010 . tcp . 80")).toBe('"10.96.0.010" is not an IPv4 address');
    expect(keyBytes(k, "10.96.0 . tcp . 80")).toBe('"10.96.0" is not an IPv4 address');
    expect(keyBytes(k, "10.96.0.1.2 . tcp . 80")).toBe('"10.96.0.1.2" is not an IPv4 address');
    expect(keyBytes(k, "10.96.0.10 . tcpx . 80")).toBe(
      '"tcpx" is not a protocol (tcp, udp, sctp, icmp, icmpv6 or 0-255)',
    );
    expect(keyBytes(k, "10.96.0.10 . 256 . 80")).toBe(
      '"256" is not a protocol (tcp, udp, sctp, icmp, icmpv6 or 0-255)',
    );
    expect(keyBytes(k, "10.96.0.10 . tcp . 65536")).toBe('"65536" is not a port (0-65535)');
    expect(keyBytes(k, "10.96.0.10 . tcp . -1")).toBe('"-1" is not a port (0-65535)');
    expect(keyBytes(k, "10.96.0.10 . tcp . http")).toBe('"http" is not a port (0-65535)');
    expect(keyBytes(k, "10.96.0.10 . tcp")).toBe("3 fields expected (ipv4_addr . inet_proto . inet_service)");
    expect(keyBytes(k, "10.96.0.10 . tcp . 80 . 1")).toBe(
      "3 fields expected (ipv4_addr . inet_proto . inet_service)",
    );
    expect(keyBytes("numgen random mod 2", "4294967296", true)).toBe(
      '"4294967296" is not a 32-bit unsigned number',
    );
    expect(keyBytes("ipv4_addr", "")).toBe('"" is not an IPv4 address');
  });

  test("ElementSyntaxError names the set, the element and the reason", () => {
    const e = new ElementSyntaxError("service-ips of ip podnet", "10.96.0.300 . tcp . 80", "bad");
    expect(e.message).toBe(
      'Cannot load element "10.96.0.300 . tcp . 80" of set service-ips of ip podnet: bad',
    );
    expect(FIELD_TYPES.u32.size).toBe(4);
  });
});
