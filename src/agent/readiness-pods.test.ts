import { describe, expect, test } from "bun:test";
import { type PodRow, parseReadinessCheck, type ReadinessCheck } from "../node-state/node-state.ts";
import { checkedPods, declaringRow } from "./readiness-pods.ts";

const check = (port: number) => parseReadinessCheck({ tcpSocket: { port } }) as ReadinessCheck;
const row = (containerId: string, name: string, more: Partial<PodRow> = {}): PodRow => ({
  network: "podnet",
  containerId,
  ifname: "eth0",
  namespace: "default",
  name,
  labels: {},
  ips: ["10.244.1.2", "fd00:10:244:1::2"],
  recordedAt: 1_000,
  ...more,
});

describe("checkedPods", () => {
  test("only pods that declare a check, against their first address, from their attachment time", () => {
    const { pods, problems } = checkedPods([
      row("c1", "web", { readiness: check(8080) }),
      row("c2", "plain"),
    ]);
    expect(problems).toEqual([]);
    expect(pods).toEqual([
      {
        key: "default/web",
        namespace: "default",
        name: "web",
        ip: "10.244.1.2",
        check: check(8080),
        attachedAt: 1_000,
        attachment: "c1/eth0@1000",
      },
    ]);
  });

  test("a pod with several attachments is checked once, by its first declaring attachment", () => {
    const { pods, problems } = checkedPods([
      row("c2", "web", { readiness: check(9090), ips: ["10.244.1.9"] }),
      row("c1", "web", { ifname: "net1", ips: ["10.244.1.3"] }),
      row("c1", "web", { readiness: check(8080), ips: ["10.244.1.2"] }),
    ]);
    expect(pods.map((p) => [p.key, p.ip, p.check.action])).toEqual([
      ["default/web", "10.244.1.2", { kind: "tcp", port: 8080 }],
    ]);
    expect(problems).toEqual([
      'pod "default/web": attachment c2/eth0 declares another readiness check than c1/eth0; checking that of c1/eth0',
    ]);
  });

  test("a declaring attachment without an address is named, not checked", () => {
    const { pods, problems } = checkedPods([row("c1", "web", { readiness: check(1), ips: [] })]);
    expect(pods).toEqual([]);
    expect(problems).toEqual([
      'pod "default/web": attachment c1/eth0 declares a readiness check but has no address',
    ]);
  });

  test("a pod created again under the same name, address and check is another attachment", () => {
    const before = checkedPods([row("c1", "web", { readiness: check(8080) })]).pods[0];
    const again = checkedPods([row("c1", "web", { readiness: check(8080), recordedAt: 2_000 })]).pods[0];
    const other = checkedPods([row("c9", "web", { readiness: check(8080) })]).pods[0];
    expect(again?.ip).toBe(before?.ip as string);
    expect(new Set([before?.attachment, again?.attachment, other?.attachment]).size).toBe(3);
  });

  test("declaringRow is the first declaring row in container/interface order, as checkedPods takes it", () => {
    const rows = [
      row("c2", "web", { readiness: check(9090) }),
      row("c1", "web"),
      row("c3", "web", { readiness: check(1) }),
    ];
    expect(declaringRow(rows)?.containerId).toBe("c2");
    expect(declaringRow([row("c1", "web")])).toBeUndefined();
  });
});
