import { describe, expect, test } from "bun:test";
import { decodeAttrs, decodeReplies, type Reply } from "./codec.ts";
import { NLA_F_NESTED } from "./constants.ts";
import {
  type ElementLoad,
  encodeElementBatch,
  InvalidNftNameError,
  splitLoads,
} from "./nft-element-batch.ts";
import { type ElementLayout, ElementSyntaxError, elementLayout } from "./nft-element-types.ts";

function layout(type: string, data?: string, typeOf = false): ElementLayout {
  const l = elementLayout({ type, ...(data === undefined ? {} : { data }), typeOf, flags: [] });
  if (!l) throw new Error(`no layout for ${type}`);
  return l;
}

const u16 = (n: number) => [n & 0xff, n >> 8];
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const nla = (type: number, payload: number[]) => {
  const len = 4 + payload.length;
  return [...u16(len), ...u16(type), ...payload, ...Array((4 - (len % 4)) % 4).fill(0)];
};
const nest = (type: number, ...children: number[][]) => nla(type | NLA_F_NESTED, children.flat());
const cstr = (s: string) => [...Buffer.from(s), 0];
const nlmsg = (type: number, flags: number, seq: number, family: number, resId: number, body: number[]) => [
  ...u32(20 + body.length),
  ...u16(type),
  ...u16(flags),
  ...u32(seq),
  ...u32(0),
  family,
  0,
  resId >> 8,
  resId & 0xff,
  ...body,
];

describe("encodeElementBatch", () => {
  test("a set element and a verdict map element, byte for byte as nft sends them", () => {
    const batch = encodeElementBatch(
      "ip",
      "t",
      [
        { name: "cluster-ips", layout: layout("ipv4_addr"), elements: ["10.96.0.10"] },
        {
          name: "service-nodeports",
          layout: layout("inet_proto . inet_service", "verdict"),
          elements: ["tcp . 30080 : goto ep-1", "udp . 53 : accept"],
        },
      ],
      7,
    );
    const NEWSETELEM = (10 << 8) | 12;
    const FLAGS = 0x1 | 0x400 | 0x4; // NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK
    const expected = [
      ...nlmsg(0x10, 1, 7, 0, 10, []),
      ...nlmsg(NEWSETELEM, FLAGS, 8, 2, 0, [
        ...nla(1, cstr("t")),
        ...nla(2, cstr("cluster-ips")),
        ...nest(3, nest(1, nest(1, nla(1, [10, 96, 0, 10])))),
      ]),
      ...nlmsg(NEWSETELEM, FLAGS, 9, 2, 0, [
        ...nla(1, cstr("t")),
        ...nla(2, cstr("service-nodeports")),
        ...nest(
          3,
          nest(
            1,
            nest(1, nla(1, [6, 0, 0, 0, 0x75, 0x80, 0, 0])),
            nest(2, nest(2, nla(1, be32(-4 >>> 0)), nla(2, cstr("ep-1")))),
          ),
          nest(1, nest(1, nla(1, [17, 0, 0, 0, 0, 53, 0, 0])), nest(2, nest(2, nla(1, be32(1))))),
        ),
      ]),
      ...nlmsg(0x11, 1, 10, 0, 10, []),
    ];
    expect([...batch.bytes]).toEqual(expected);
    expect(batch.messages).toEqual([
      { seq: 8, set: "cluster-ips", elements: 1 },
      { seq: 9, set: "service-nodeports", elements: 2 },
    ]);
    expect([batch.beginSeq, batch.endSeq, batch.elements]).toEqual([7, 10, 3]);
  });

  test("value data, an unpadded lone key field and the other verdicts", () => {
    const batch = encodeElementBatch(
      "ip6",
      "t",
      [
        {
          name: "m",
          layout: layout("tcp dport . numgen random mod 2", "ip6 daddr . tcp dport", true),
          elements: ["30080 . 1 : fd00::5 . 8080"],
        },
        {
          name: "v",
          layout: layout("inet_service", "verdict"),
          elements: ["1 : drop", "2 : return", "3 : continue", "4 : jump c"],
        },
      ],
      1,
    );
    const replies = decodeReplies(batch.bytes);
    expect(replies.map((r) => r.type)).toEqual([0x10, (10 << 8) | 12, (10 << 8) | 12, 0x11]);
    const m = replies[1] as Reply;
    expect(m.body[0]).toBe(10); // NFPROTO_IPV6
    const elem = decodeAttrs(
      decodeAttrs(decodeAttrs(m.body, 4).get(3) as Uint8Array, 0).get(1) as Uint8Array,
      0,
    );
    expect([...(decodeAttrs(elem.get(1) as Uint8Array, 0).get(1) as Uint8Array)]).toEqual([
      0x75,
      0x80,
      0,
      0,
      ...new Uint8Array(new Uint32Array([1]).buffer),
    ]);
    expect([...(decodeAttrs(elem.get(2) as Uint8Array, 0).get(1) as Uint8Array)]).toEqual([
      0xfd,
      0,
      ...Array(13).fill(0),
      5,
      0x1f,
      0x90,
      0,
      0,
    ]);
    const v = (replies[2] as Reply).body;
    expect([...v.subarray(4)]).toEqual([
      ...nla(1, cstr("t")),
      ...nla(2, cstr("v")),
      ...nest(
        3,
        nest(1, nest(1, nla(1, [0, 1])), nest(2, nest(2, nla(1, be32(0))))),
        nest(1, nest(1, nla(1, [0, 2])), nest(2, nest(2, nla(1, be32(-5 >>> 0))))),
        nest(1, nest(1, nla(1, [0, 3])), nest(2, nest(2, nla(1, be32(-1 >>> 0))))),
        nest(1, nest(1, nla(1, [0, 4])), nest(2, nest(2, nla(1, be32(-3 >>> 0)), nla(2, cstr("c"))))),
      ),
    ]);
  });

  test("splits a set's elements over messages no longer than the limit, none lost", () => {
    const elements = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const batch = encodeElementBatch("ip", "t", [{ name: "s", layout: layout("ipv4_addr"), elements }], 1, {
      maxMessageBytes: 500,
    });
    const msgs = decodeReplies(batch.bytes).filter((r) => r.type === ((10 << 8) | 12));
    expect(msgs.length).toBe(batch.messages.length);
    expect(msgs.length).toBeGreaterThan(20);
    const seen: string[] = [];
    for (const m of msgs) {
      expect(m.body.length + 16).toBeLessThanOrEqual(500);
      const list = decodeAttrs(m.body, 4).get(3) as Uint8Array;
      for (let at = 0; at < list.length; ) {
        const len = list[at] as number;
        const key = list.subarray(at + 12, at + 16);
        seen.push([...key].join("."));
        at += len;
      }
    }
    expect(seen).toEqual(elements);
    expect(batch.messages.reduce((n, m) => n + m.elements, 0)).toBe(1000);
    expect(batch.messages.map((m) => m.seq)).toEqual(batch.messages.map((_, i) => i + 2));
  });

  test("an element taken back at a message's end leaves no stray bytes in the next one's padding", () => {
    // The element written after a message is full is taken back and written again after the next
    // message's header, shifted by 40 bytes: the protocol's padding then lies where the taken-back
    // element had the end of its data address.
    const elements = Array.from(
      { length: 40 },
      (_, i) => `tcp . fd00::${i + 1} : fd00::ff${i} . ${2000 + i}`,
    );
    const batch = encodeElementBatch(
      "ip6",
      "t",
      [{ name: "m", layout: layout("inet_proto . ipv6_addr", "ipv6_addr . inet_service"), elements }],
      1,
      { maxMessageBytes: 400 },
    );
    const msgs = decodeReplies(batch.bytes).filter((r) => r.type === ((10 << 8) | 12));
    expect(msgs.length).toBeGreaterThan(5);
    const v6 = (last: number) => [0xfd, 0, ...Array(12).fill(0), last >> 8, last & 255];
    const expected = elements.map((_, i) => [
      ...nest(1, nla(1, [6, 0, 0, 0, ...v6(Number.parseInt(`${i + 1}`, 16))])),
      ...nest(2, nla(1, [...v6(Number.parseInt(`ff${i}`, 16)), (2000 + i) >> 8, (2000 + i) & 255, 0, 0])),
    ]);
    const seen: number[][] = [];
    for (const m of msgs) {
      const list = decodeAttrs(m.body, 4).get(3) as Uint8Array;
      for (let at = 0; at < list.length; at += list[at] as number)
        seen.push([...list.subarray(at + 4, at + (list[at] as number))]);
    }
    expect(seen).toEqual(expected);
  });

  test("by default keeps every message's nested element list within its 16-bit length", () => {
    const elements = Array.from(
      { length: 50000 },
      (_, i) => `10.96.${i >> 8}.${i & 255} . tcp . 80 : goto endpoints-tcp-${i}`,
    );
    const batch = encodeElementBatch(
      "ip",
      "t",
      [{ name: "service-ips", layout: layout("ipv4_addr . inet_proto . inet_service", "verdict"), elements }],
      1,
    );
    const msgs = decodeReplies(batch.bytes).filter((r) => r.type === ((10 << 8) | 12));
    expect(msgs.length).toBeGreaterThan(40);
    for (const m of msgs) expect(m.body.length).toBeLessThan(60 * 1024);
    expect(batch.messages.reduce((n, m) => n + m.elements, 0)).toBe(50000);
  });

  test("nothing to add: no bytes, no messages; sets without elements are left out", () => {
    const empty = encodeElementBatch(
      "ip",
      "t",
      [{ name: "s", layout: layout("ipv4_addr"), elements: [] }],
      1,
    );
    expect(empty.bytes.length).toBe(0);
    expect(empty.messages).toEqual([]);
    const one = encodeElementBatch(
      "ip",
      "t",
      [
        { name: "a", layout: layout("ipv4_addr"), elements: [] },
        { name: "b", layout: layout("ipv4_addr"), elements: ["10.0.0.1"] },
      ],
      1,
    );
    expect(one.messages).toEqual([{ seq: 2, set: "b", elements: 1 }]);
  });

  test("an element that does not fit its set throws, naming set, element and reason", () => {
    const load = (name: string, l: ElementLayout, el: string): ElementLoad[] => [
      { name, layout: l, elements: ["10.0.0.1"].filter(() => l.data.kind === "none").concat(el) },
    ];
    const cases: [ElementLoad[], string][] = [
      [load("s", layout("ipv4_addr"), "10.0.0.300"), '"10.0.0.300" is not an IPv4 address'],
      [load("s", layout("ipv4_addr"), "10.0.0.3 : accept"), "a set element has no data"],
      [
        load("m", layout("inet_service", "verdict"), "80"),
        'a map element needs a key and data separated by " : "',
      ],
      [
        load("m", layout("inet_service", "verdict"), "80 : goto"),
        '"goto" is not a verdict (accept, drop, continue, return, jump or goto a chain)',
      ],
      [load("m", layout("inet_service", "verdict"), "80 : goto a b"), '"goto a b" names no valid chain'],
      [load("m", layout("inet_service", "verdict"), `80 : jump ${"c".repeat(256)}`), "names no valid chain"],
      [load("m", layout("inet_service", "ipv4_addr"), "80 : 10.0.0.1 . 5"), "1 field expected (ipv4_addr)"],
    ];
    for (const [sets, reason] of cases) {
      const el = sets[0]?.elements.at(-1) as string;
      let error: unknown;
      try {
        encodeElementBatch("ip", "podnet-b", sets, 1);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ElementSyntaxError);
      expect((error as Error).message).toContain(`"${el}" of set ${sets[0]?.name} of ip podnet-b: `);
      expect((error as Error).message).toContain(reason);
    }
  });

  test("names that are not podnet's are refused before anything is encoded", () => {
    const l = layout("ipv4_addr");
    expect(() => encodeElementBatch("ip", "pod net", [], 1)).toThrow(InvalidNftNameError);
    expect(() => encodeElementBatch("ip", "t".repeat(65), [], 1)).toThrow(InvalidNftNameError);
    expect(() => encodeElementBatch("ip", "t", [{ name: "a/b", layout: l, elements: [] }], 1)).toThrow(
      'Invalid nftables set name "a/b"',
    );
  });
});

describe("splitLoads", () => {
  const l = layout("ipv4_addr");
  const set = (name: string, n: number): ElementLoad => ({
    name,
    layout: l,
    elements: Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
  });
  const shape = (groups: ElementLoad[][]) =>
    groups.map((g) => g.map((s) => `${s.name}:${s.elements.length}`));

  test("at most N elements a batch, a set spanning batches, order and elements kept", () => {
    const sets = [set("a", 5), set("empty", 0), set("b", 12), set("c", 3)];
    const groups = splitLoads(sets, 7);
    expect(shape(groups)).toEqual([["a:5", "b:2"], ["b:7"], ["b:3", "c:3"]]);
    expect(groups.flat().flatMap((s) => s.elements)).toEqual(sets.flatMap((s) => s.elements));
    expect(groups[0]?.[0]).toBe(sets[0] as ElementLoad); // a set that fits whole is not copied
  });

  test("exact multiples end a batch; nothing to load gives no batch; N must be a positive integer", () => {
    expect(shape(splitLoads([set("a", 4), set("b", 4)], 4))).toEqual([["a:4"], ["b:4"]]);
    expect(splitLoads([set("a", 0)], 4)).toEqual([]);
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => splitLoads([set("a", 1)], bad)).toThrow(RangeError);
  });
});
