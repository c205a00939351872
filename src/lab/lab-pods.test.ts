import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { addLabPod, LabPodError, podLabels, validatePodName } from "./lab-pods.ts";
import { LAB_READINESS } from "./lab-readiness.ts";
import type { LabPod, LabState } from "./lab-state.ts";

const state = {
  nodes: [{ name: "node1" }, { name: "node2" }],
  pods: [{ name: "node1-a" }],
} as unknown as Parameters<typeof validatePodName>[0];

describe("validatePodName", () => {
  test("accepts a DNS label", () => {
    expect(validatePodName(state, "web-1")).toBe("web-1");
    expect(validatePodName(state, "x")).toBe("x");
  });

  test.each([
    ["", "must be"],
    ["Web", "must be"],
    ["-web", "must be"],
    ["web-", "must be"],
    ["a/b", "must be"],
    ["a".repeat(33), "must be"],
    ["external", "reserved"],
    ["router", "reserved"],
    ["vm", "reserved"],
    ["sw-a", "reserved"],
    ["node2", "a node's name"],
    ["node1-a", "already exists"],
  ])("refuses %p (%s)", (name, reason) => {
    expect(() => validatePodName(state, name)).toThrow(LabPodError);
    expect(() => validatePodName(state, name)).toThrow(reason);
  });
});

describe("podLabels", () => {
  test("without --labels: app=echo (the demo Service) and pod=NAME", () => {
    expect(podLabels("web", undefined)).toEqual({ app: "echo", pod: "web" });
  });

  test("with --labels: those, and pod=NAME", () => {
    expect(podLabels("web", "app=web,tier=front")).toEqual({ app: "web", tier: "front", pod: "web" });
    expect(podLabels("web", "empty=")).toEqual({ empty: "", pod: "web" });
  });

  test.each(["app", "=x", "a b=c", "app=x y", "k=v,", "pod=other"])("refuses %p", (text) => {
    expect(() => podLabels("web", text)).toThrow(LabPodError);
  });
});

describe("addLabPod", () => {
  const savedRoot = process.env.PODNET_LAB_ROOT;
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(`${tmpdir()}/podnet-lab-pods-`);
    process.env.PODNET_LAB_ROOT = root;
  });
  afterEach(() => {
    if (savedRoot === undefined) delete process.env.PODNET_LAB_ROOT;
    else process.env.PODNET_LAB_ROOT = savedRoot;
    rmSync(root, { recursive: true, force: true });
  });

  test("a failed attach is undone (CNI DEL and namespace) and the pod is not recorded", async () => {
    const lab = {
      id: `t${Math.random().toString(36).slice(2, 8)}`,
      dir: "/nonexistent",
      nodes: [{ name: "node1" }],
      pods: [],
    } as unknown as LabState;
    writeFileSync(`${root}/state.json`, JSON.stringify(lab));
    const undone: string[] = [];
    const failure = new Error("CNI ADD failed");
    const add = addLabPod(
      "node1",
      "web",
      {},
      {
        attach: async () => {
          throw failure;
        },
        undo: async (_s, node, name) => {
          undone.push(`${node.name}/${name}`);
        },
      },
    );
    await expect(add).rejects.toBe(failure);
    expect(undone).toEqual(["node1/web"]);
    expect(JSON.parse(readFileSync(`${root}/state.json`, "utf8")).pods).toEqual([]);
  });

  test("an unknown node is refused before anything is attached", async () => {
    writeFileSync(
      `${root}/state.json`,
      JSON.stringify({ id: "abc123", nodes: [{ name: "node1" }], pods: [] }),
    );
    const attached: string[] = [];
    const add = addLabPod(
      "node9",
      "web",
      {},
      {
        attach: async (_s, _n, name) => {
          attached.push(name);
          throw new Error("unreachable");
        },
        undo: async () => {},
      },
    );
    await expect(add).rejects.toThrow('no node "node9" in the lab (nodes: node1)');
    expect(attached).toEqual([]);
  });

  test("the pod declares the check --readiness names, and waits for readiness only with the echo check", async () => {
    const lab = { id: "abc123", dir: "/nonexistent", nodes: [{ name: "node1" }], pods: [] };
    writeFileSync(`${root}/state.json`, JSON.stringify(lab));
    const declared: unknown[] = [];
    const waited: string[] = [];
    const steps = {
      attach: async (
        _s: LabState,
        node: { name: string },
        name: string,
        _l: unknown,
        _ns?: string,
        r?: unknown,
      ) => {
        declared.push(r);
        return { name, node: node.name, readiness: r } as unknown as LabPod;
      },
      undo: async () => {},
      waitReady: async (_s: LabState, pods: readonly LabPod[]) => {
        waited.push(...pods.map((p) => p.name));
      },
    };
    await addLabPod("node1", "web", {}, steps);
    await addLabPod("node1", "plain", { readiness: "none" }, steps);
    await addLabPod("node1", "health", { readiness: "http:8080/healthz" }, steps);
    await addLabPod("node1", "other", { labels: "app=other" }, steps);
    expect(declared[0]).toEqual(LAB_READINESS);
    expect(declared[1]).toBeNull();
    expect(declared[2]).toMatchObject({ httpGet: { port: 8080, path: "/healthz" } });
    // Only "web" is in the demo Service with a check its echo server passes.
    expect(waited).toEqual(["web"]);
  });

  test("a bad --readiness is refused before anything is attached", async () => {
    writeFileSync(
      `${root}/state.json`,
      JSON.stringify({ id: "abc123", nodes: [{ name: "node1" }], pods: [] }),
    );
    const attached: string[] = [];
    const add = addLabPod(
      "node1",
      "web",
      { readiness: "tcp:x" },
      {
        attach: async (_s, _n, name) => {
          attached.push(name);
          throw new Error("unreachable");
        },
        undo: async () => {},
      },
    );
    await expect(add).rejects.toThrow('--readiness "tcp:x": tcp: must be followed by a port number');
    expect(attached).toEqual([]);
  });
});
