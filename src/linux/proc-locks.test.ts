import { describe, expect, test } from "bun:test";
import { deviceText, lockHolders } from "./proc-locks.ts";

describe("deviceText", () => {
  test("major and minor in hex, as /proc/locks prints them", () => {
    expect(deviceText(0x801)).toBe("08:01");
    expect(deviceText(26)).toBe("00:1a");
    // A minor above 255 (overlay and tmpfs mounts get those): its high bits sit above the major's.
    expect(deviceText((0x123 << 20) | (0x12 << 8) | 0x45)).toBe("12:12345");
  });
});

describe("lockHolders", () => {
  const text = [
    "1: FLOCK  ADVISORY  WRITE 1234 08:01:2146359 0 EOF",
    "1: -> FLOCK  ADVISORY  WRITE 999 08:01:2146359 0 EOF",
    "2: POSIX  ADVISORY  WRITE 678 08:01:777 0 EOF",
    "3: FLOCK  ADVISORY  WRITE 555 08:02:2146359 0 EOF",
    "",
  ].join("\n");

  test("the holder of that device and inode, not a waiter nor another file", () => {
    expect(lockHolders(text, 0x801, 2146359)).toEqual([1234]);
    expect(lockHolders(text, 0x801, 777)).toEqual([678]);
    expect(lockHolders(text, 0x802, 2146359)).toEqual([555]);
  });

  test("none when nobody holds it", () => {
    expect(lockHolders(text, 0x801, 1)).toEqual([]);
    expect(lockHolders("", 0x801, 2146359)).toEqual([]);
  });
});
