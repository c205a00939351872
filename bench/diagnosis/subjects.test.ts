import { describe, expect, test } from "bun:test";
import { labFixture } from "./lab-fixture.ts";
import { diagnosisSubjects, freeAddressIn, LabSubjectError } from "./subjects.ts";

describe("freeAddressIn", () => {
  test("the last host address of the block, below the broadcast", () => {
    expect(freeAddressIn("10.244.10.0/24", ["10.244.10.2", "10.244.10.3"])).toBe("10.244.10.254");
  });

  test("skips addresses someone holds", () => {
    expect(freeAddressIn("10.244.10.0/24", ["10.244.10.254", "10.244.10.253"])).toBe("10.244.10.252");
  });

  test("never the VTEP (.0) or the gateway (.1): a full block is an error naming it", () => {
    expect(() => freeAddressIn("10.244.10.0/30", ["10.244.10.2"])).toThrow(LabSubjectError);
    expect(() => freeAddressIn("10.244.10.0/30", ["10.244.10.2"])).toThrow(/10\.244\.10\.0\/30/);
  });
});

describe("diagnosisSubjects", () => {
  const s = diagnosisSubjects(labFixture(), "10.96.0.10");

  test("explain: a pod on another node, the ClusterIP, that node's IP and a free address in its block", () => {
    expect(s.explain.map((e) => [e.key, e.address, e.kind])).toEqual([
      ["pod", "10.244.10.2", "pod"],
      ["cluster-ip", "10.96.0.10", "cluster-ip"],
      ["node-ip", "192.0.2.12", "node-ip"],
      ["free", "10.244.10.254", "free"],
    ]);
  });

  test("trace from node1-a: direct to node2-a, VXLAN to node3-a, the ClusterIP on port 80", () => {
    expect(s.source).toEqual({ ref: "default/node1-a", ip: "10.244.0.2", netns: "pnlab-abc123-node1-a" });
    expect(s.trace.map((t) => [t.key, `${t.address}:${t.port}`])).toEqual([
      ["direct", "10.244.10.2:8080"],
      ["vxlan", "10.244.4.2:8080"],
      ["cluster-ip", "10.96.0.10:80"],
    ]);
  });

  test("commands run in node1's namespace; every node is listed for the anchor", () => {
    expect(s.askingNetns).toBe("pnlab-abc123-node1");
    expect(s.nodes.map((n) => n.netns)).toEqual([
      "pnlab-abc123-node1",
      "pnlab-abc123-node2",
      "pnlab-abc123-node3",
    ]);
    expect(s.datastore).toBe("sqlite:/tmp/lab/abc123/cluster.db");
  });

  test("a ClusterIP that is no address never reaches a command line", () => {
    expect(() => diagnosisSubjects(labFixture(), "10.96.0.10; rm -rf /")).toThrow();
  });

  test("a lab without node3 is not the lab the benchmark needs", () => {
    const state = labFixture();
    const small = { ...state, nodes: state.nodes.slice(0, 2), pods: state.pods.slice(0, 4) };
    expect(() => diagnosisSubjects(small, "10.96.0.10")).toThrow(LabSubjectError);
  });
});
