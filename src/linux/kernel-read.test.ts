import { describe, expect, test } from "bun:test";
import { argvIn, InvalidInterfaceNameError, validateIfname } from "./kernel-read.ts";
import { NetnsMissingError } from "./netns.ts";

describe("argvIn", () => {
  test("runs as is in the current namespace, through nsenter in another", () => {
    expect(argvIn(undefined, ["ip", "-j", "route", "show"])).toEqual(["ip", "-j", "route", "show"]);
    expect(argvIn({ netnsPath: "/proc/self/ns/net" }, ["ip", "-j", "route", "show"])).toEqual([
      "nsenter",
      "--net=/proc/self/ns/net",
      "--",
      "ip",
      "-j",
      "route",
      "show",
    ]);
  });

  test("refuses a path that is not a namespace before anything runs", () => {
    expect(() => argvIn({ netnsPath: "/run/netns/surely-not-there-h1" }, ["ip"])).toThrow(NetnsMissingError);
  });
});

describe("validateIfname", () => {
  test("takes kernel interface names, refuses what a command line would split", () => {
    expect(validateIfname("podnet-vx")).toBe("podnet-vx");
    for (const bad of ["", "a b", "x/y", "sixteen-chars-xx", "eth0:1"])
      expect(() => validateIfname(bad)).toThrow(InvalidInterfaceNameError);
  });
});
