/**
 * The main job end to end on the IPv4 layouts (auto, vxlan and host-gw backends, the etcd
 * datastore), and what `lab check` and `lab down` do when things go wrong. The dual-stack, IPv6,
 * cluster-file and ptp layouts are in lab-layouts.test.ts (the two files run in parallel).
 */
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { runSync } from "../../src/linux/exec.ts";
import { describeLayouts, type Layout, labRootForFile } from "./harness/lab-layouts.ts";

const lab = labRootForFile("podnet-lab-test-");
const { podnet, labId, labNamespaces, etcNetnsOf } = lab;
const labRoot = lab.root;

const LAYOUTS: readonly Layout[] = [
  // The default: two nodes on one segment (direct routes), a third behind a router (VXLAN).
  {
    title: "auto backend, 3 nodes on two segments",
    args: [],
    nodes: 3,
    podsPerNode: 2,
    claims: 22,
    paths: ["direct", "vxlan"],
  },
  {
    title: "vxlan backend",
    args: ["--backend", "vxlan", "--nodes", "2"],
    nodes: 2,
    podsPerNode: 2,
    claims: 22,
    paths: ["vxlan"],
  },
  {
    title: "host-gw backend",
    args: ["--backend", "host-gw", "--nodes", "2"],
    nodes: 2,
    podsPerNode: 2,
    claims: 22,
    paths: ["direct"],
  },
  {
    title: "etcd datastore (the lab's own etcd on the underlay)",
    args: ["--datastore", "etcd"],
    nodes: 3,
    podsPerNode: 2,
    claims: 22,
    paths: ["direct", "vxlan"],
    extraNamespaces: 1, // the etcd host
  },
];

describeLayouts(lab, LAYOUTS);

test("check fails with ✗ and a non-zero exit when a pod loses its address", () => {
  expect(podnet("lab", "up", "--nodes", "1", "--pods", "2").code).toBe(0);
  const ns = labNamespaces(labId()).find((n) => n.endsWith("-node1-b"));
  expect(ns).toBeDefined();
  runSync(["ip", "-n", ns as string, "addr", "flush", "dev", "eth0"]);
  const check = podnet("lab", "check");
  expect(check.code).toBe(1);
  expect(check.stdout).toContain("✗ every pod has its own IP address");
  expect(podnet("lab", "down").code).toBe(0);
});

test("down after a crashed up (no state saved) still removes the lab's namespaces", () => {
  expect(podnet("lab", "up", "--nodes", "2", "--pods", "1").code).toBe(0);
  const id = labId();
  expect(labNamespaces(id).length).toBeGreaterThan(0);
  rmSync(`${labRoot}/state.json`); // as if `up` died before saving its state
  expect(podnet("lab", "down").code).toBe(0);
  expect(labNamespaces(id)).toEqual([]);
  expect(etcNetnsOf(id)).toEqual([]);
});

test("a second up while a lab is running is refused", () => {
  expect(podnet("lab", "up", "--nodes", "1", "--pods", "1").code).toBe(0);
  const again = podnet("lab", "up");
  expect(again.code).toBe(1);
  expect(again.stderr).toContain("already up");
  expect(podnet("lab", "down").code).toBe(0);
});
