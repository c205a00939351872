/**
 * podnet under a real container runtime: Debian's podman 4 (CNI backend, runc, cgroupfs) with the
 * conflist `podnet cni conflist` prints by default, portmap chained after podnet, exactly as a user
 * of a single host sets it up. podman runs inside a network namespace of the test with its own
 * storage, configuration and mount namespace (harness/podman-host.ts); the checks read the kernel
 * (veths, NAT rules), podnet's state, libcni's cache and real HTTP exchanges.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { formatIP, parseIP } from "../../src/ipnet/address.ts";
import { containsIP, parsePrefix } from "../../src/ipnet/prefix.ts";
import { HOST_ADDRESS, NETWORK, PodmanHost, SUBNET } from "./harness/podman-host.ts";

const PAGES = ["alpha", "beta", "web"];
const HOST_PORT = 18080;

let host: PodmanHost | undefined;

beforeAll(async () => {
  host = await PodmanHost.create(PAGES);
}, 300_000);

afterAll(() => {
  const h = host;
  host = undefined;
  h?.dispose();
});

function podman(): PodmanHost {
  if (!host) throw new Error("the podman host is not set up (beforeAll failed?)");
  return host;
}

/** The ADD result libcni cached for a container: what the runtime parsed from the chain. */
function cachedResult(id: string): { cniVersion: string; ips: { address: string }[] } {
  const text = podman().readPrivateFile(`/var/lib/cni/results/${NETWORK}-${id}-eth0`);
  return (JSON.parse(text) as { result: { cniVersion: string; ips: { address: string }[] } }).result;
}

/** Nothing of any container is left: no host veth, no allocation, no pod row, no netns, no cached result. */
function expectNothingAttached(): void {
  const h = podman();
  expect(h.veths()).toEqual([]);
  expect(h.nodeState()).toEqual({ allocations: [], pods: [] });
  expect(h.privateEntries("/run/netns")).toEqual([]);
  expect(h.privateEntries("/var/lib/cni/results")).toEqual([]);
}

describe("podman (CNI backend) with podnet's default conflist", () => {
  test("the conflist declares 1.0.0 for podman's libcni and offers 1.1.0 to newer runtimes", () => {
    const conflist = JSON.parse(readFileSync(podman().conflistPath, "utf8")) as Record<string, unknown>;
    expect(conflist.cniVersion).toBe("1.0.0");
    expect(conflist.cniVersions).toEqual(["1.0.0", "1.1.0"]);
    expect((conflist.plugins as { type: string }[]).map((p) => p.type)).toEqual(["podnet", "portmap"]);
  });

  test("two containers get distinct addresses in the subnet, reach each other, and podman rm leaves nothing", async () => {
    const h = podman();
    const alpha = await h.runWebServer("alpha", "alpha");
    const beta = await h.runWebServer("beta", "beta");
    const addrAlpha = await h.containerAddress("alpha");
    const addrBeta = await h.containerAddress("beta");
    const subnet = parsePrefix(SUBNET);
    expect(containsIP(subnet, parseIP(addrAlpha))).toBe(true);
    expect(containsIP(subnet, parseIP(addrBeta))).toBe(true);
    expect(addrAlpha).not.toBe(addrBeta);

    // podman 4's libcni reads only "cniVersion" and parsed podnet's answer in that version.
    expect(cachedResult(alpha).cniVersion).toBe("1.0.0");
    expect(cachedResult(alpha).ips.map((ip) => ip.address)).toEqual([`${addrAlpha}/24`]);
    // podnet holds exactly these addresses, for podman's container IDs, with a host veth each.
    const allocated = h
      .nodeState()
      .allocations.map((a) => [a.containerId, formatIP(a.ip)])
      .sort();
    expect(allocated).toEqual(
      [
        [alpha, addrAlpha],
        [beta, addrBeta],
      ].sort(),
    );
    expect(
      h
        .veths()
        .map((l) => l.ifalias)
        .sort(),
    ).toEqual([`podnet:${NETWORK}:${alpha}:eth0`, `podnet:${NETWORK}:${beta}:eth0`].sort());
    // Real packets, both ways: each container fetches the page the other one serves (no wget -T:
    // busybox-static's crashes with it; podman's command timeout bounds the wait).
    const fetch = (from: string, addr: string) =>
      h.mustPodman(["exec", from, "wget", "-q", "-O", "-", `http://${addr}/`], 30_000);
    expect(await fetch("beta", addrAlpha)).toBe("alpha");
    expect(await fetch("alpha", addrBeta)).toBe("beta");

    await h.mustPodman(["rm", "--force", "--time", "0", "alpha", "beta"]);
    expectNothingAttached();
  });

  test("a published port reaches its container through portmap chained after podnet", async () => {
    const h = podman();
    await h.runWebServer("web", "web", ["--publish", `${HOST_PORT}:80`]);
    const addr = await h.containerAddress("web");
    // portmap got podnet's result as prevResult and forwards the host's port to that address.
    expect(h.natRules()).toContain(`--to-destination ${addr}:80`);
    const r = await h.fetchFromHost(`http://${HOST_ADDRESS}:${HOST_PORT}/`);
    expect({ code: r.code, page: r.stdout.trim() }).toEqual({ code: 0, page: "web" });

    await h.mustPodman(["rm", "--force", "--time", "0", "web"]);
    // DEL ran through the whole chain: portmap removed its chain and rules, podnet the rest.
    expect(h.natRules()).not.toMatch(/CNI-DN-|--to-destination/);
    expectNothingAttached();
    expect((await h.fetchFromHost(`http://${HOST_ADDRESS}:${HOST_PORT}/`)).code).not.toBe(0);
  });

  test("with every container removed, no conmon or container process is left", async () => {
    const h = podman();
    expect(await h.mustPodman(["ps", "--all", "--quiet"])).toBe("");
    // conmon exits once it has recorded its container's exit, which may follow podman rm.
    await pollUntil("conmon and the containers to exit", () => h.runtimeProcesses().length === 0, 10_000, {
      detail: () => `left: ${h.runtimeProcesses().join(" ")}`,
    });
  });
});
