import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { retireStaleBird } from "./stale-bird.ts";

test("nothing to retire: no socket, or a socket file nobody answers on (a killed BIRD's)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "podnet-stale-bird-"));
  try {
    expect(await retireStaleBird(join(dir, "bird.ctl"), false)).toBe(false);
    writeFileSync(join(dir, "bird.ctl"), "");
    expect(await retireStaleBird(join(dir, "bird.ctl"), true)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
