/** parseConntrackLine over real `conntrack -L` lines (conntrack-tools 1.4.7, kernel 6.18, scratch netns). */
import { describe, expect, test } from "bun:test";
import { AddressParseError } from "../ipnet/errors.ts";
import {
  conntrackQueries,
  KERNEL_FILTERED_ADDRESSES,
  listConntrack,
  parseConntrackLine,
} from "./conntrack-list.ts";

const TCP =
  "tcp      6 119 TIME_WAIT src=192.0.2.1 dst=192.0.2.2 sport=55104 dport=8080 src=192.0.2.2 dst=192.0.2.1 sport=8080 dport=55104 [ASSURED] mark=0 use=1";
const UDP_UNREPLIED =
  "udp      17 29 src=192.0.2.1 dst=198.51.100.9 sport=34269 dport=8080 [UNREPLIED] src=198.51.100.9 dst=192.0.2.1 sport=8080 dport=34269 mark=0 use=1";
const ICMP =
  "icmp     1 29 src=192.0.2.1 dst=192.0.2.2 type=8 code=0 id=4660 src=192.0.2.2 dst=192.0.2.1 type=0 code=0 id=4660 mark=0 use=1";
const UDP6 =
  "udp      17 29 src=2001:db8::1 dst=2001:db8::2 sport=44999 dport=8080 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 sport=8080 dport=44999 mark=0 use=1";
const EXTENDED =
  "ipv4     2 tcp      6 119 TIME_WAIT src=192.0.2.1 dst=192.0.2.2 sport=55104 dport=8080 src=192.0.2.2 dst=192.0.2.1 sport=8080 dport=55104 [ASSURED] mark=0 use=1";
const WITH_ID = `${TCP} id=2386376474`;

describe("parseConntrackLine", () => {
  test("a TCP entry: state, timeout, both tuples, flags, mark", () => {
    expect(parseConntrackLine(TCP)).toEqual({
      proto: "tcp",
      state: "TIME_WAIT",
      timeoutSeconds: 119,
      original: { src: "192.0.2.1", dst: "192.0.2.2", sport: 55104, dport: 8080 },
      reply: { src: "192.0.2.2", dst: "192.0.2.1", sport: 8080, dport: 55104 },
      flags: ["ASSURED"],
      mark: 0,
    });
    expect(parseConntrackLine(EXTENDED)).toEqual(parseConntrackLine(TCP));
    expect(parseConntrackLine(WITH_ID)).toEqual(parseConntrackLine(TCP));
  });

  test("UDP has no state; UNREPLIED sits between the tuples", () => {
    const e = parseConntrackLine(UDP_UNREPLIED);
    expect(e?.state).toBeUndefined();
    expect(e?.flags).toEqual(["UNREPLIED"]);
    expect(e?.reply).toEqual({ src: "198.51.100.9", dst: "192.0.2.1", sport: 8080, dport: 34269 });
    expect(parseConntrackLine(UDP6)?.original.dst).toBe("2001:db8::2");
  });

  test("ICMP tuples carry type, code and id instead of ports", () => {
    const e = parseConntrackLine(ICMP);
    expect(e?.original).toEqual({ src: "192.0.2.1", dst: "192.0.2.2", icmp: { type: 8, code: 0, id: 4660 } });
    expect(e?.reply.icmp).toEqual({ type: 0, code: 0, id: 4660 });
  });

  test("the summary line and blank lines are not entries", () => {
    expect(
      parseConntrackLine("conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown."),
    ).toBeUndefined();
    expect(parseConntrackLine("")).toBeUndefined();
    expect(parseConntrackLine("tcp 6 119 ESTABLISHED src=1.2.3.4")).toBeUndefined();
  });
});

describe("listConntrack input checks", () => {
  test("refuses a filter address that is not one, and asks nothing for no addresses", async () => {
    await expect(listConntrack({ addresses: ["10.0.0.1", "-D"] })).rejects.toThrow(AddressParseError);
    expect(await listConntrack({ addresses: [] })).toEqual({ entries: [], errors: [] });
  });
});

describe("conntrackQueries: the kernel filters, not the agent", () => {
  test("a probe's flow: by protocol and original source port first, then its addresses", () => {
    expect(
      conntrackQueries({ addresses: ["10.244.1.2", "fd00::1"], proto: "tcp", sourcePort: 40000 }),
    ).toEqual([
      ["conntrack", "-L", "-f", "ipv4", "-p", "tcp", "--sport", "40000"],
      ["conntrack", "-L", "-f", "ipv6", "-p", "tcp", "--sport", "40000"],
      ["conntrack", "-L", "-f", "ipv4", "-s", "10.244.1.2"],
      ["conntrack", "-L", "-f", "ipv4", "-d", "10.244.1.2"],
      ["conntrack", "-L", "-f", "ipv6", "-s", "fd00::1"],
      ["conntrack", "-L", "-f", "ipv6", "-d", "fd00::1"],
    ]);
    expect(() => conntrackQueries({ addresses: ["10.0.0.1"], sourcePort: 40000 })).toThrow(/protocol/);
    expect(() => conntrackQueries({ addresses: ["10.0.0.1"], proto: "udp", sourcePort: 0 })).toThrow(/port/);
  });

  test("a few addresses: -s and -d each, canonical and once", () => {
    expect(conntrackQueries({ addresses: ["10.0.0.1", "2001:DB8::1", "10.0.0.1"] })).toEqual([
      ["conntrack", "-L", "-f", "ipv4", "-s", "10.0.0.1"],
      ["conntrack", "-L", "-f", "ipv4", "-d", "10.0.0.1"],
      ["conntrack", "-L", "-f", "ipv6", "-s", "2001:db8::1"],
      ["conntrack", "-L", "-f", "ipv6", "-d", "2001:db8::1"],
    ]);
  });

  test("many addresses: one streamed listing per family (cut at the limit)", () => {
    const many = Array.from({ length: KERNEL_FILTERED_ADDRESSES + 1 }, (_, i) => `10.0.0.${i + 1}`);
    expect(conntrackQueries({ addresses: many })).toEqual([["conntrack", "-L", "-f", "ipv4"]]);
  });
});
