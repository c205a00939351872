import { describe, expect, test } from "bun:test";
import type { Service } from "../k8s/service-model.ts";
import { serviceKey } from "../k8s/service-model.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import { conntrackDeleteArgs, newlyServedUdpOf, type StaleFlow, staleUdpFlowsOf } from "./stale-flows.ts";
import type { EntryChange } from "./synced-services.ts";

/** The Services that differ between two whole lists, as changes. */
function changesBetween(prev: readonly ServiceEntry[], next: readonly ServiceEntry[]): EntryChange[] {
  const before = new Map(prev.map((e) => [serviceKey(e.service), e] as const));
  const after = new Map(next.map((e) => [serviceKey(e.service), e] as const));
  const out: EntryChange[] = [];
  for (const [key, was] of before) if (after.get(key) !== was) out.push([key, was, after.get(key)]);
  for (const [key, now] of after) if (!before.has(key)) out.push([key, undefined, now]);
  return out;
}

const staleUdpFlows = (prev: readonly ServiceEntry[], next: readonly ServiceEntry[]) =>
  staleUdpFlowsOf(changesBetween(prev, next));
const newlyServedUdp = (prev: readonly ServiceEntry[], next: readonly ServiceEntry[]) =>
  newlyServedUdpOf(changesBetween(prev, next));

const dns: Service = {
  namespace: "kube-system",
  name: "dns",
  clusterIPs: ["10.96.0.10", "fd00:96::a"],
  ports: [
    { protocol: "UDP", port: 53, targetPort: 5353, nodePort: 30053 },
    { protocol: "TCP", port: 53, targetPort: 5353 },
  ],
  sessionAffinity: { kind: "None" },
  selector: { app: "dns" },
};
const entry = (service: Service, ips: string[]): ServiceEntry => ({
  service,
  endpoints: ips.map((ip, i) => ({ ip, node: "n1", pod: `kube-system/p${i}` })),
});

describe("staleUdpFlows", () => {
  test("a UDP endpoint that goes away leaves its ClusterIP and NodePort flows stale; TCP needs nothing", () => {
    const prev = [entry(dns, ["10.244.1.5", "10.244.2.7", "fd00:244::5"])];
    const next = [entry(dns, ["10.244.2.7", "fd00:244::5"])];
    expect(staleUdpFlows(prev, next)).toEqual([
      { family: 4, clusterIP: "10.96.0.10", port: 53, endpoint: "10.244.1.5" },
      { family: 4, clusterIP: undefined, port: 30053, endpoint: "10.244.1.5" },
    ]);
  });

  test("a deleted Service leaves all its UDP flows stale; an unchanged entry none", () => {
    const e = entry(dns, ["fd00:244::5"]);
    expect(staleUdpFlows([e], [e])).toEqual([]);
    expect(staleUdpFlows([e], [])).toEqual([
      { family: 6, clusterIP: "fd00:96::a", port: 53, endpoint: "fd00:244::5" },
      { family: 6, clusterIP: undefined, port: 30053, endpoint: "fd00:244::5" },
    ]);
  });

  test("a port changing from UDP to TCP makes the UDP flows stale", () => {
    const tcpOnly: Service = { ...dns, ports: [{ protocol: "TCP", port: 53, targetPort: 5353 }] };
    expect(staleUdpFlows([entry(dns, ["10.244.1.5"])], [entry(tcpOnly, ["10.244.1.5"])])).toHaveLength(2);
  });

  test("conntrack arguments name the family, protocol, original destination and the DNAT target", () => {
    expect(
      conntrackDeleteArgs({ family: 4, clusterIP: "10.96.0.10", port: 53, endpoint: "10.244.1.5" }),
    ).toEqual([
      "-D",
      "-f",
      "ipv4",
      "-p",
      "udp",
      "--orig-dst",
      "10.96.0.10",
      "--orig-port-dst",
      "53",
      "--reply-src",
      "10.244.1.5",
    ]);
    expect(
      conntrackDeleteArgs({ family: 6, clusterIP: undefined, port: 30053, endpoint: "fd00::5" }),
    ).toEqual(["-D", "-f", "ipv6", "-p", "udp", "--orig-port-dst", "30053", "--reply-src", "fd00::5"]);
  });
});

describe("newlyServedUdp", () => {
  test("a UDP port getting its first endpoint (or its Service appearing) clears its untranslated flows", () => {
    const none = entry(dns, []);
    const one = entry(dns, ["10.244.1.5"]);
    const all: StaleFlow[] = [
      { family: 4, clusterIP: "10.96.0.10", port: 53, endpoint: undefined },
      { family: 6, clusterIP: "fd00:96::a", port: 53, endpoint: undefined },
      { family: 4, clusterIP: undefined, port: 30053, endpoint: undefined },
      { family: 6, clusterIP: undefined, port: 30053, endpoint: undefined },
    ];
    expect(newlyServedUdp([none], [one])).toEqual(all);
    expect(newlyServedUdp([], [one])).toEqual(all);
    // Already served, or still without endpoints: nothing to clear.
    expect(newlyServedUdp([one], [entry(dns, ["10.244.1.5", "10.244.2.7"])])).toEqual([]);
    expect(newlyServedUdp([], [none])).toEqual([]);
  });

  test("only untranslated flows are cleared: their reply comes from where the client sent to", () => {
    const cluster = { family: 4, clusterIP: "10.96.0.10", port: 53, endpoint: undefined } as const;
    expect(conntrackDeleteArgs(cluster).slice(-4)).toEqual([
      "--orig-port-dst",
      "53",
      "--reply-src",
      "10.96.0.10",
    ]);
    const node = { family: 4, clusterIP: undefined, port: 30053, endpoint: undefined } as const;
    expect(conntrackDeleteArgs(node)).toEqual([
      "-D",
      "-f",
      "ipv4",
      "-p",
      "udp",
      "--orig-port-dst",
      "30053",
      "--reply-port-src",
      "30053",
    ]);
  });
});
