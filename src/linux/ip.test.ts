import { describe, expect, test } from "bun:test";
import { IpBatchError, renderBatch } from "./ip.ts";

describe("renderBatch", () => {
  test("renders one command per line and refuses tokens a batch line would split or interpret", () => {
    expect(
      renderBatch([
        ["link", "set", "dev", "eth0", "up"],
        ["addr", "add", "fd00::1/64", "dev", "eth0"],
      ]),
    ).toBe("link set dev eth0 up\naddr add fd00::1/64 dev eth0\n");
    for (const bad of ["two words", "a\nb", "x;y", "", "$(id)"]) {
      expect(() => renderBatch([["link", "set", "dev", bad, "up"]])).toThrow("Unsafe token");
    }
  });
});

describe("IpBatchError", () => {
  const stderr = "Error: Nexthop has invalid gateway.\nCommand failed -:3\n";

  test("names the failing command, the namespace and the kernel's reason", () => {
    const argv = ["nsenter", "--net=/run/netns/pod1", "--", "ip", "-batch", "-"];
    const e = new IpBatchError(argv, 1, stderr, 2, [
      "route",
      "add",
      "0.0.0.0/0",
      "via",
      "192.0.2.1",
      "dev",
      "eth0",
    ]);
    expect(e.message).toBe(
      'Command "ip route add 0.0.0.0/0 via 192.0.2.1 dev eth0" in network namespace "/run/netns/pod1" failed: Error: Nexthop has invalid gateway.',
    );
    expect(e.stderr).toBe(stderr);
  });

  test("keeps the generic message when iproute2 did not say which command failed", () => {
    const e = new IpBatchError(["ip", "-batch", "-"], 1, "Error: something\n", undefined, undefined);
    expect(e.message).toContain('"ip -batch -" failed with exit code 1');
  });

  test("classifies EEXIST and ENODEV from the kernel's words", () => {
    expect(new IpBatchError(["ip"], 2, "RTNETLINK answers: File exists\n", 0, ["link"]).exists).toBe(true);
    expect(new IpBatchError(["ip"], 1, 'Cannot find device "pn1"\n', 0, ["link"]).notFound).toBe(true);
    expect(new IpBatchError(["ip"], 1, "Error: Nexthop has invalid gateway.\n", 0, ["route"]).exists).toBe(
      false,
    );
  });
});
