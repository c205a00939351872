/** parseIpAddrJson over real `ip -j -d addr show` output (golden/ip-addr.json, captured in a scratch netns). */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KernelOutputError } from "./kernel-read.ts";
import { parseIpAddrJson } from "./link-facts.ts";

const captured = readFileSync(join(import.meta.dir, "golden/ip-addr.json"), "utf8");

describe("parseIpAddrJson", () => {
  const links = parseIpAddrJson(captured);
  const byName = new Map(links.map((l) => [l.name, l]));

  test("lists every link with index, kind, MAC, MTU and state", () => {
    expect(links.map((l) => l.name)).toEqual(["lo", "veth0", "br0", "vx0", "vp1", "vp0"]);
    expect(byName.get("lo")).toMatchObject({
      index: 1,
      kind: "",
      mac: "00:00:00:00:00:00",
      mtu: 65536,
      up: true,
    });
    expect(byName.get("veth0")).toMatchObject({ kind: "veth", mtu: 1500, up: true });
    // vp1 was never set up.
    expect(byName.get("vp1")?.up).toBe(false);
  });

  test("gives addresses with their prefix length, IPv4 and IPv6", () => {
    expect(byName.get("veth0")?.addresses).toEqual([
      "192.0.2.1/24",
      "2001:db8::1/64",
      "fe80::4f0:61ff:fe7c:38da/64",
    ]);
    expect(byName.get("vx0")?.addresses).toContain("10.244.1.0/32");
  });

  test("names the bridge of a port and the alias", () => {
    expect(byName.get("vp0")?.master).toBe("br0");
    expect(byName.get("veth0")?.master).toBeUndefined();
    expect(byName.get("vx0")?.alias).toBe("podnet:test");
  });

  test("gives a VXLAN device's VNI, port, local address and underlay device", () => {
    expect(byName.get("vx0")?.vxlan).toEqual({ vni: 4096, port: 4789, local: "192.0.2.1", dev: "veth0" });
    expect(byName.get("br0")?.vxlan).toBeUndefined();
  });

  test("an empty output is no links; output that is not ip's is an error naming the command", () => {
    expect(parseIpAddrJson("")).toEqual([]);
    expect(() => parseIpAddrJson("{}")).toThrow(KernelOutputError);
    expect(() => parseIpAddrJson('[{"ifname":"x"}]')).toThrow('"ip -j -d addr show"');
  });
});
