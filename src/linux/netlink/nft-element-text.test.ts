import { describe, expect, test } from "bun:test";
import { mulberry32 as random } from "../../../testkit/seeded-random.ts";
import { tryParseIP } from "../../ipnet/address.ts";
import { writeIpv4, writeIpv6 } from "./nft-element-text.ts";

/** The loader's bytes for an address text, or undefined where it refuses it. */
function loaderBytes(family: 4 | 6, text: string): bigint | undefined {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  const ok = family === 4 ? writeIpv4(text, 0, text.length, out, 0) : writeIpv6(text, 0, text.length, out, 0);
  return ok ? out.reduce((v, b) => (v << 8n) | BigInt(b), 0n) : undefined;
}

/** src/ipnet/address.ts's value for the text, or undefined where it refuses it (or finds the other family). */
function referenceValue(family: 4 | 6, text: string): bigint | undefined {
  const ip = tryParseIP(text);
  return ip?.family === family ? ip.value : undefined;
}

const hex = (t: string) => loaderBytes(6, t)?.toString(16).padStart(32, "0");

test("IPv6 addresses in every RFC 4291 form", () => {
  expect(hex("fd00:10:96::a")).toBe("fd00001000960000000000000000000a");
  expect(hex("::")).toBe("0".repeat(32));
  expect(hex("::1")).toBe(`${"0".repeat(30)}01`);
  expect(hex("2001:db8::")).toBe(`20010db8${"0".repeat(24)}`);
  expect(hex("1:2:3:4:5:6:7:8")).toBe("00010002000300040005000600070008");
  expect(hex("1:2:3:4:5:6:7::")).toBe("00010002000300040005000600070000");
  expect(hex("FD00:10:244:1::5")).toBe("fd000010024400010000000000000005");
  expect(hex("::ffff:192.0.2.1")).toBe("00000000000000000000ffffc0000201");
  expect(hex("64:ff9b::1:2:3.4.5.6")).toBe("0064ff9b000000000001000203040506");
  for (const bad of [
    "1::2::3",
    "12345::",
    ":1",
    "1:",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "1:2:3:4:5:6:7",
    "g::1",
    "",
    "::1.2.3",
    "1:2:3:4:5:6:7:1.2.3.4",
    "10.0.0.1",
  ])
    expect(hex(bad)).toBeUndefined();
});

const SEED = 14_2026;

/** A random IPv6 address text: zero runs (so `::` has work), any run compressed, case and leading zeros varied, dotted tails. */
function ipv6Text(r: () => number): string {
  const int = (n: number) => Math.floor(r() * n);
  const groups = Array.from({ length: 8 }, () => (r() < 0.4 ? 0 : int(0x10000)));
  if (r() < 0.15) groups.splice(0, 6, 0, 0, 0, 0, 0, 0xffff); // IPv4-mapped
  const group = (g: number) => {
    const h = g.toString(16);
    const padded = r() < 0.2 ? h.padStart(4, "0") : h;
    return r() < 0.2 ? padded.toUpperCase() : padded;
  };
  const dotted = r() < 0.3;
  const head = dotted ? groups.slice(0, 6) : groups;
  const tail = dotted
    ? [`${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`]
    : [];
  const words = [...head.map(group), ...tail];
  // Compress one run of zero groups (of the head), if any, chosen at random.
  const runs: [number, number][] = [];
  for (let i = 0; i < head.length; i++) {
    if (head[i] !== 0) continue;
    let j = i;
    while (j < head.length && head[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  if (runs.length === 0 || r() < 0.2) return words.join(":");
  const [from, to] = runs[int(runs.length)]!;
  const start = from + int(to - from);
  const end = start + 1 + int(to - start);
  return `${words.slice(0, start).join(":")}::${words.slice(end).join(":")}`;
}

const ipv4Text = (r: () => number) => Array.from({ length: 4 }, () => Math.floor(r() * 256)).join(".");

/** The text with one random edit: a character dropped, doubled, replaced or inserted. */
function mutate(text: string, r: () => number): string {
  const chars = "0123456789abcdefgABF:.:. %[";
  const at = Math.floor(r() * (text.length + 1));
  const c = chars[Math.floor(r() * chars.length)]!;
  switch (Math.floor(r() * 4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + text.slice(at, at + 1) + text.slice(at);
    case 2:
      return text.slice(0, at) + c + text.slice(at + 1);
    default:
      return text.slice(0, at) + c + text.slice(at);
  }
}

describe("address parsing agrees with src/ipnet/address.ts (seeded)", () => {
  test("the same bytes for random IPv4 and IPv6 texts, compressed, mapped and dotted forms included", () => {
    const r = random(SEED);
    for (let i = 0; i < 5_000; i++) {
      const t4 = ipv4Text(r);
      expect([t4, loaderBytes(4, t4)]).toEqual([t4, referenceValue(4, t4)]);
      const t6 = ipv6Text(r);
      const value = referenceValue(6, t6);
      expect(value).toBeDefined();
      expect([t6, loaderBytes(6, t6)]).toEqual([t6, value]);
    }
  });

  test("the same texts refused: random edits of valid addresses", () => {
    const r = random(SEED + 1);
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const family = r() < 0.3 ? 4 : 6;
      let text = family === 4 ? ipv4Text(r) : ipv6Text(r);
      for (let k = 1 + Math.floor(r() * 2); k > 0; k--) text = mutate(text, r);
      const reference = referenceValue(family, text);
      if (reference === undefined) refused++;
      expect([family, text, loaderBytes(family, text)]).toEqual([family, text, reference]);
    }
    // The edits must actually produce malformed texts, or this test proves nothing.
    expect(refused).toBeGreaterThan(5_000);
  });
});
