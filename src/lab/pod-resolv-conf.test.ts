import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { removeLabResolvConfs, removePodResolvConf, writePodResolvConf } from "./pod-resolv-conf.ts";

const DNS = { nameservers: ["169.254.20.10"], search: ["default.svc.cluster.local"], options: ["ndots:5"] };
let root = "";

afterEach(() => rmSync(root, { recursive: true, force: true }));

function freshBase(): string {
  root = mkdtempSync(`${tmpdir()}/pod-resolv-conf-`);
  return `${root}/netns`; // does not exist yet, as /etc/netns on a fresh host
}

describe("pods' resolv.conf files under a netns base directory", () => {
  test("the first write creates the base and says so; later ones do not", () => {
    const base = freshBase();
    expect(writePodResolvConf("pnlab-abc123-node1-a", DNS, base)).toEqual({ createdBase: true });
    expect(writePodResolvConf("pnlab-abc123-node1-b", DNS, base)).toEqual({ createdBase: false });
    expect(readFileSync(`${base}/pnlab-abc123-node1-a/resolv.conf`, "utf8")).toContain(
      "nameserver 169.254.20.10\n",
    );
  });

  test("removing a pod's file removes its directory; missing ones are fine", () => {
    const base = freshBase();
    writePodResolvConf("pnlab-abc123-node1-a", DNS, base);
    removePodResolvConf("pnlab-abc123-node1-a", base);
    expect(existsSync(`${base}/pnlab-abc123-node1-a`)).toBe(false);
    removePodResolvConf("pnlab-abc123-node1-a", base);
  });

  test("a lab's removal takes only its own names, and the base only when it created it and it is empty", () => {
    const base = freshBase();
    writePodResolvConf("pnlab-abc123-node1-a", DNS, base);
    writePodResolvConf("pnlab-zzz999-node1-a", DNS, base); // another lab's pod
    expect(removeLabResolvConfs("pnlab-abc123-", true, base)).toEqual([`${base}/pnlab-abc123-node1-a`]);
    expect(existsSync(`${base}/pnlab-zzz999-node1-a/resolv.conf`)).toBe(true);
    expect(existsSync(base)).toBe(true); // not empty: left
    removeLabResolvConfs("pnlab-zzz999-", false, base);
    expect(existsSync(base)).toBe(true); // empty, but that lab did not create it
    removeLabResolvConfs("pnlab-abc123-", true, base);
    expect(existsSync(base)).toBe(false);
  });

  test("files someone else put in a pod's directory are left, with the directory", () => {
    const base = freshBase();
    writePodResolvConf("pnlab-abc123-node1-a", DNS, base);
    writeFileSync(`${base}/pnlab-abc123-node1-a/hosts`, "");
    removePodResolvConf("pnlab-abc123-node1-a", base);
    expect(existsSync(`${base}/pnlab-abc123-node1-a/resolv.conf`)).toBe(false);
    expect(existsSync(`${base}/pnlab-abc123-node1-a/hosts`)).toBe(true);
  });

  test("a name that is not a namespace name is refused before any path is built", () => {
    const base = freshBase();
    mkdirSync(base);
    expect(() => writePodResolvConf("../etc", DNS, base)).toThrow(/Invalid network namespace name/);
  });
});
