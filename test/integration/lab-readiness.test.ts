/**
 * Readiness checks in the lab: lab pods declare a TCP check on their echo server, so `lab up`
 * returns with every pod ready; `lab pod add --readiness` declares another check or none (a pod
 * checked over HTTP never becomes ready: the echo server speaks no HTTP); and the readiness claim
 * of `lab check` fails when readiness is ignored — here a pod the lab believes checked whose
 * plugin was given no check, so stopping its server leaves it an endpoint everywhere. On a 2-node
 * lab in a lab root of its own, removed with `lab down` at the end.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { LAB_READINESS } from "../../src/lab/lab-readiness.ts";
import type { LabState } from "../../src/lab/lab-state.ts";
import { READINESS_CLAIM } from "../../src/lab/readiness-claims.ts";
import { runSync } from "../../src/linux/exec.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../testkit/podnet-build.ts";

const labRoot = `/tmp/lr-lab-${Math.floor(Math.random() * 1_000_000)}`;
const env = { PODNET_LAB_ROOT: labRoot };

function podnet(...args: string[]) {
  return runSync([PODNET, ...args], { env, timeoutMs: 300_000 });
}

function tearDown(): void {
  podnet("lab", "down");
  rmSync(labRoot, { recursive: true, force: true });
}

const stateFile = `${labRoot}/state.json`;
const readState = () => JSON.parse(readFileSync(stateFile, "utf8")) as LabState;

interface Shown {
  readonly endpoints: readonly { readonly pod: string }[];
  readonly notReadyEndpoints: readonly { readonly pod: string }[];
}

function demoService(): { ready: string[]; notReady: string[] } {
  const r = podnet("lab", "service", "show", "default/echo", "--json");
  if (r.code !== 0) throw new Error(`lab service show failed: ${r.stderr.trim()}`);
  const s = JSON.parse(r.stdout) as Shown;
  return {
    ready: s.endpoints.map((e) => e.pod).sort(),
    notReady: s.notReadyEndpoints.map((e) => e.pod).sort(),
  };
}

let undispose: () => void = () => {};

beforeAll(() => {
  ensurePodnetBuilt();
  undispose = disposeOnExit(tearDown, `removing the lab in ${labRoot}`);
  const up = podnet("lab", "up", "--nodes", "2", "--pods", "1");
  if (up.code !== 0) throw new Error(`lab up exited ${up.code}: ${up.stderr.trim()}`);
});

afterAll(() => {
  tearDown();
  undispose();
});

describe("readiness checks in the lab", () => {
  test("lab up returns with every pod declaring the TCP check and ready", () => {
    for (const p of readState().pods) expect(p.readiness).toEqual(LAB_READINESS);
    expect(demoService()).toEqual({ ready: ["default/node1-a", "default/node2-a"], notReady: [] });
  });

  test("lab pod add --readiness: none is ready at once, http never (the echo server speaks no HTTP)", () => {
    const plain = podnet("lab", "pod", "add", "node2", "plain", "--readiness", "none");
    expect(plain.stdout).toContain("readiness check none");
    expect(plain.code).toBe(0);
    const http = podnet("lab", "pod", "add", "node1", "web-http", "--readiness", "http:8080/healthz");
    expect(http.stdout).toContain("readiness check http 8080/healthz");
    expect(http.code).toBe(0);
    const bad = podnet("lab", "pod", "add", "node1", "bad", "--readiness", "udp:53");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--readiness "udp:53": "udp" is not a kind of check');
    // web-http has been checked (and failed) many times by now: its record says ready:false.
    Bun.sleepSync(3000);
    expect(demoService()).toEqual({
      ready: ["default/node1-a", "default/node2-a", "default/plain"],
      notReady: ["default/web-http"],
    });
    expect(podnet("lab", "pod", "delete", "web-http").code).toBe(0);
  });

  test("the readiness claim fails when readiness is ignored (a pod believed checked has no check)", () => {
    // The lab now believes `plain` (the last pod) declared the echo check; its agent has none.
    const state = readState();
    const plain = state.pods.find((p) => p.name === "plain");
    expect(plain).toBeDefined();
    writeFileSync(
      stateFile,
      JSON.stringify({
        ...state,
        pods: state.pods.map((p) => (p.name === "plain" ? { ...p, readiness: LAB_READINESS } : p)),
      }),
    );
    const check = podnet("lab", "check");
    console.log(check.stdout.split("\n").find((l) => l.includes(READINESS_CLAIM)));
    expect(check.stdout).toContain(`✗ ${READINESS_CLAIM}`);
    expect(check.stdout).toContain("plain's record did not say ready:false");
    expect(check.stdout).toMatch(/plain \([0-9.]+\) was still an endpoint on node1, node2/);
    expect(check.code).toBe(1);
    // Its server was started again: the pod answers as before.
    const after = readState().pods.find((p) => p.name === "plain");
    expect(after?.echoPid).not.toBe(plain?.echoPid);
  });
});
