import { describe, expect, test } from "bun:test";
import { hostVethAlias, parseHostVethAlias } from "./host-veths.ts";

const id = { network: "net", containerId: "abc123", ifname: "eth0" };

describe("host veth alias", () => {
  test("the alias names network, container and interface, bounded by the kernel limit", () => {
    expect(hostVethAlias(id)).toBe("podnet:net:abc123:eth0");
    expect(hostVethAlias({ ...id, containerId: "x".repeat(1000) }).length).toBe(255);
  });

  test("reads back the attachment it was written for", () => {
    expect(parseHostVethAlias(hostVethAlias(id))).toEqual(id);
    const dotted = { network: "k8s-pod.net_1", containerId: "a.b-c_d", ifname: "net1" };
    expect(parseHostVethAlias(hostVethAlias(dotted))).toEqual(dotted);
  });

  test("an alias cut by the kernel before the interface name, or not podnet's, names nothing", () => {
    expect(parseHostVethAlias(hostVethAlias({ ...id, containerId: "x".repeat(1000) }))).toBeUndefined();
    expect(parseHostVethAlias("podnet:net:abc123")).toBeUndefined();
    expect(parseHostVethAlias("podnet:net:abc123:")).toBeUndefined();
    expect(parseHostVethAlias("other:net:abc123:eth0")).toBeUndefined();
    expect(parseHostVethAlias("podnet:net:abc123:eth0:extra")).toBeUndefined();
    expect(parseHostVethAlias("")).toBeUndefined();
  });
});
