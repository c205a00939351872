import { describe, expect, test } from "bun:test";
import { getentAddresses } from "./dns-query.ts";

describe("getentAddresses", () => {
  test("ahostsv4: each address once (STREAM, DGRAM and RAW lines), sorted", () => {
    const out = [
      "10.96.0.11      STREAM echo.default.svc.cluster.local",
      "10.96.0.11      DGRAM  ",
      "10.96.0.11      RAW    ",
      "10.96.0.2       STREAM ",
      "",
    ].join("\n");
    expect(getentAddresses(out, 4)).toEqual(["10.96.0.11", "10.96.0.2"]);
  });

  test("ahostsv6: AAAA answers in their canonical text; IPv4-mapped answers (a name with only A) left out", () => {
    const out = [
      "fd00:10:96:0:0:0:0:a STREAM echo.default.svc.cluster.local",
      "fd00:10:96::a   DGRAM  ",
      "::ffff:10.96.0.11 STREAM ",
      "::ffff:10.96.0.11 DGRAM  ",
    ].join("\n");
    expect(getentAddresses(out, 6)).toEqual(["fd00:10:96::a"]);
    expect(getentAddresses("::ffff:203.0.113.100 STREAM www.example.test\n", 6)).toEqual([]);
  });

  test("addresses of the other family and lines that are no address are not answers of this one", () => {
    expect(getentAddresses("fd00:10:96::a STREAM x\n10.96.0.11 STREAM x\nnonsense\n", 4)).toEqual([
      "10.96.0.11",
    ]);
  });
});
