import { describe, expect, test } from "bun:test";
import {
  argvIn,
  InvalidInterfaceNameError,
  ReadTimeoutError,
  runRead,
  streamRead,
  validateIfname,
} from "./kernel-read.ts";
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

describe("streamRead and runRead limits", () => {
  test("hands lines over as they come and stops the child when the reader has enough", async () => {
    const lines: string[] = [];
    const r = await streamRead(undefined, ["seq", "1", "100000000"], (l) => lines.push(l) < 5, {
      maxBytes: 1 << 30,
    });
    expect(r.stopped).toBe("enough");
    expect(lines).toEqual(["1", "2", "3", "4", "5"]);
  });

  test("stops reading after maxBytes, and reads everything of a short output", async () => {
    const cut = await streamRead(undefined, ["seq", "1", "100000000"], () => true, { maxBytes: 64 * 1024 });
    expect(cut.stopped).toBe("bytes");
    expect(cut.bytes).toBeLessThan(1024 * 1024);
    const all: string[] = [];
    expect(
      await streamRead(undefined, ["seq", "1", "3"], (l) => all.push(l) > 0, { maxBytes: 1024 }),
    ).toEqual({
      bytes: 6,
    });
    expect(all).toEqual(["1", "2", "3"]);
  });

  test("a command killed by the timeout says so", async () => {
    await expect(runRead(undefined, ["sleep", "5"], () => false, 200)).rejects.toThrow(ReadTimeoutError);
    await expect(runRead(undefined, ["sleep", "5"], () => false, 200)).rejects.toThrow(
      /timed out after 0.2 s/,
    );
    await expect(
      streamRead(undefined, ["sleep", "5"], () => true, { maxBytes: 10, timeoutMs: 200 }),
    ).rejects.toThrow(ReadTimeoutError);
  });
});
