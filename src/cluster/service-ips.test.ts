import { describe, expect, test } from "bun:test";
import { useTempStores } from "../../test/support/temp-store.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { ServiceIPUnavailableError } from "../ipam/cluster-errors.ts";
import { serviceIPBands } from "../ipam/service-ip-allocator.ts";
import { formatIP, parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { rangeContains } from "../ipnet/range.ts";
import { allocateClusterIP, listServiceIPs, serviceIPKey } from "./service-ips.ts";
import { releaseIfHeld } from "./service-node-ports.ts";

const config = buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/24"] });
const store = useTempStores("podnet-svcip");

describe("allocateClusterIP", () => {
  test("concurrent allocations get distinct addresses from the dynamic band first", async () => {
    const s = await store();
    const ips = await Promise.all(
      Array.from({ length: 40 }, (_, i) => allocateClusterIP(s, config, 4, `default/svc-${i}`)),
    );
    const texts = ips.map(formatIP);
    expect(new Set(texts).size).toBe(40);
    const staticBand = serviceIPBands(parsePrefix("10.96.0.0/24")).staticBand!;
    for (const ip of ips) expect(rangeContains(staticBand, ip)).toBe(false);
    expect((await listServiceIPs(s)).length).toBe(40);
  });

  test("a requested address is given once, then refused; released, it can be had again", async () => {
    const s = await store();
    const ip = await allocateClusterIP(s, config, 4, "kube-system/dns", parseIP("10.96.0.10"));
    expect(formatIP(ip)).toBe("10.96.0.10");
    await expect(
      allocateClusterIP(s, config, 4, "default/other", parseIP("10.96.0.10")),
    ).rejects.toBeInstanceOf(ServiceIPUnavailableError);
    expect(await releaseIfHeld(s, serviceIPKey(parseIP("10.96.0.10")), "default/other")).toBe(false);
    expect(await releaseIfHeld(s, serviceIPKey(parseIP("10.96.0.10")), "kube-system/dns")).toBe(true);
    expect(formatIP(await allocateClusterIP(s, config, 4, "default/other", parseIP("10.96.0.10")))).toBe(
      "10.96.0.10",
    );
  });

  test("a family without a service CIDR is refused with the reason", async () => {
    const s = await store();
    await expect(allocateClusterIP(s, config, 6, "default/v6")).rejects.toThrow("no IPv6 service CIDR");
  });
});
