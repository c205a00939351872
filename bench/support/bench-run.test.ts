import { afterAll, describe, expect, spyOn, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flag, parseArgs, UsageError } from "../../src/cli/args.ts";
import { PodnetBinaryError } from "../../testkit/podnet-build.ts";
import { podnetUnderTest, runnerArgs, startRun } from "./bench-run.ts";

const FLAGS = { values: ["rounds", "podnet"], booleans: ["build"] };

describe("runnerArgs", () => {
  test("takes the runner's flags and every runner's --json", () => {
    const args = runnerArgs(["--rounds", "3", "--build", "--json", "out.json"], "usage", FLAGS);
    expect(args && flag(args, "rounds")).toBe("3");
    expect(args && flag(args, "json")).toBe("out.json");
    expect(args && flag(args, "build")).toBeDefined();
  });

  test("refuses a flag the runner does not know, such as --build where it has no build to make", () => {
    expect(() => runnerArgs(["--nodes", "3"], "usage", FLAGS)).toThrow(
      new UsageError("unknown option --nodes"),
    );
    expect(() => runnerArgs(["--build", "1"], "usage", { values: [] })).toThrow("unknown option --build");
  });

  test("--help prints the usage and asks the runner to stop", () => {
    const log = spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(runnerArgs(["--help"], "usage: bun bench/x/run.ts", FLAGS)).toBeUndefined();
      expect(log).toHaveBeenCalledWith("usage: bun bench/x/run.ts");
    } finally {
      log.mockRestore();
    }
  });
});

describe("podnetUnderTest", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-run-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("reports the build it started with, and that it was replaced during the run", () => {
    const exe = join(dir, "podnet");
    writeFileSync(exe, "#!/bin/sh\necho 'podnet 9.9.9'\n");
    chmodSync(exe, 0o755);
    utimesSync(exe, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"));
    const podnet = podnetUnderTest(parseArgs(["--podnet", exe]));
    expect(podnet.build()).toEqual({
      binary: exe,
      version: "podnet 9.9.9",
      modified: "2026-01-01T00:00:00.000Z",
      replacedDuringRun: false,
    });
    utimesSync(exe, new Date("2026-01-02T00:00:00Z"), new Date("2026-01-02T00:00:00Z"));
    expect(podnet.build().replacedDuringRun).toBe(true);
    expect(podnet.build().modified).toBe("2026-01-01T00:00:00.000Z");
  });

  test("does not build an executable it was pointed at that is missing", () => {
    expect(() => podnetUnderTest(parseArgs(["--podnet", join(dir, "absent")]))).toThrow(PodnetBinaryError);
  });
});

describe("startRun", () => {
  test("records failed steps and opens the report with the run's start and machine", () => {
    const before = Date.now();
    const run = startRun();
    run.fail("step one broke");
    const header = run.header();
    expect(run.failures).toEqual(["step one broke"]);
    expect(Date.parse(header.startedAt)).toBeGreaterThanOrEqual(before);
    expect(header.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(header.machine.cpus).toBeGreaterThan(0);
  });
});
