/** Paths BIRD is given, and telling the root network namespace apart (read from /proc). */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { assertNotRootNetns, InvalidBirdPathError, validateBirdPath } from "./bird-host.ts";

describe("validateBirdPath", () => {
  test("absolute paths pass, normalised", () => {
    expect(validateBirdPath("control socket", "/var/lib/podnet//bgp/bird.ctl")).toBe(
      "/var/lib/podnet/bgp/bird.ctl",
    );
  });

  test.each(["bird.conf", "/var/lib/../etc/bird.conf", '/tmp/a"b.conf', "/tmp/a b.conf", "/tmp/a\nb.conf"])(
    "%j is refused",
    (path) => {
      expect(() => validateBirdPath("config file", path)).toThrow(InvalidBirdPathError);
    },
  );
});

describe("root network namespace", () => {
  // init_net's inode is a kernel constant (PROC_NET_INIT_INO).
  const inRoot = statSync("/proc/self/ns/net").ino === 0xeffffff9;

  test.skipIf(!inRoot)("this process, in the root namespace, may not start BIRD without a netns", () => {
    expect(() => assertNotRootNetns(null)).toThrow("runs in the root network namespace");
  });

  test("a missing named namespace is refused", () => {
    expect(() => assertNotRootNetns("pntest-no-such-ns-xyz")).toThrow("does not exist");
  });
});
