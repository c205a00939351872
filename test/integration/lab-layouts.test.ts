/**
 * The main job end to end on the other layouts: dual-stack, IPv6 only over an IPv6 underlay, a
 * custom layout from a cluster file, the bgp backend with the lab router's BIRD, and one node in ptp
 * mode (lab.test.ts has the other IPv4 backends).
 */
import { describeLayouts, type Layout, labRootForFile } from "./harness/lab-layouts.ts";

const LAYOUTS: readonly Layout[] = [
  {
    title: "custom layout from examples/cluster.yaml (4 nodes on three segments)",
    args: ["-f", "examples/cluster.yaml"],
    execPod: "a1-b",
    nodes: 4,
    podsPerNode: 2,
    claims: 22,
    paths: ["direct", "vxlan"],
    extraNamespaces: 1, // a fourth segment
  },
  {
    title: "dual-stack (IPv4 primary), auto backend, 3 nodes on two segments",
    args: ["--ip-family", "dual"],
    nodes: 3,
    podsPerNode: 2,
    // Every family-specific claim once per family, and the DNS AAAA claim.
    claims: 35,
    paths: ["direct", "vxlan"],
    families: [4, 6],
  },
  {
    title: "IPv6 only, vxlan backend over an IPv6 underlay, etcd datastore",
    args: ["--ip-family", "ipv6", "--backend", "vxlan", "--nodes", "2", "--datastore", "etcd"],
    nodes: 2,
    podsPerNode: 2,
    claims: 22,
    paths: ["vxlan"],
    families: [6],
    extraNamespaces: 1, // the etcd host
  },
  {
    title: "bgp backend: the router runs BIRD and peers with every node, a VM in the VPC",
    args: ["--backend", "bgp"],
    nodes: 3,
    podsPerNode: 2,
    // The 22, and: the router's routes learned over BGP, no VXLAN on the path, the VM without
    // NAT, a hold-time change reaching every BIRD, pods reachable across an agent restart with
    // graceful restart, a frozen node's block withdrawn by the hold timer, a stopped agent's
    // block withdrawn and back.
    claims: 29,
    paths: ["direct", "routed"],
    extraNamespaces: 1, // the VM
  },
  {
    title: "one node in ptp mode",
    args: ["--nodes", "1", "--mode", "ptp", "--pods", "3"],
    nodes: 1,
    podsPerNode: 3,
    claims: 20,
    paths: [],
  },
];

describeLayouts(labRootForFile("podnet-lab-layouts-test-"), LAYOUTS);
