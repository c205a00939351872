import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { UsageError } from "./args.ts";
import { LAB_USAGE, labCommand } from "./lab.ts";
import { LAB_EXPLAIN_USAGE, LAB_TRACE_USAGE } from "./lab-diagnosis-commands.ts";
import { LAB_POD_USAGE } from "./lab-pod-command.ts";

// A lab root with no lab in it: every command here must stop at its arguments or at "no lab".
const root = mkdtempSync(`${tmpdir()}/podnet-cli-lab-`);
const savedRoot = process.env.PODNET_LAB_ROOT;
beforeAll(() => {
  process.env.PODNET_LAB_ROOT = root;
});
afterAll(() => {
  if (savedRoot === undefined) delete process.env.PODNET_LAB_ROOT;
  else process.env.PODNET_LAB_ROOT = savedRoot;
  rmSync(root, { recursive: true, force: true });
});

async function usageOf(argv: string[]): Promise<string> {
  const error = await labCommand(argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as UsageError).message;
}

describe("labCommand's dispatch", () => {
  test("an unknown or missing sub-command prints the lab's usage", async () => {
    expect(await usageOf([])).toBe(LAB_USAGE);
    expect(await usageOf(["frobnicate"])).toBe(LAB_USAGE);
  });

  test.each([
    [["pod"], LAB_POD_USAGE],
    [["pod", "add", "node1"], LAB_POD_USAGE],
    [["pod", "delete", "web", "--labels", "a=b"], LAB_POD_USAGE],
    [["explain"], LAB_EXPLAIN_USAGE],
    [["trace", "node1-a"], LAB_TRACE_USAGE],
    [["ui", "extra"], "usage: podnet lab ui [--listen ADDR:PORT] [--token T]"],
    [["ui-serve"], "usage: podnet lab ui-serve --listen 127.0.0.1:PORT"],
    [["exec", "node1-a"], "usage: podnet lab exec POD -- CMD [ARG...]"],
    [
      ["service"],
      "usage: podnet lab service create|delete|list|show ... (as podnet service, without --datastore)",
    ],
    [
      ["service", "list", "--datastore", "sqlite:/x"],
      "podnet lab service: --datastore is the lab's own; leave it out",
    ],
    [["http-get", "http://example.com/"], "usage: podnet lab http-get http://127.0.0.1:PORT/PATH"],
    [["up", "--mode", "nat"], '--mode "nat" must be bridge or ptp'],
    [["up", "--nodes", "0"], '--nodes "0" must be an integer from 1 to'],
  ])("%p: %s", async (argv, usage) => {
    expect(await usageOf(argv)).toStartWith(usage);
  });

  test("-f is --file: the cluster file is read", async () => {
    await expect(labCommand(["up", "-f", `${root}/missing.yaml`])).rejects.toThrow(`${root}/missing.yaml`);
  });

  test("pod add and delete without a lab: no lab is up", async () => {
    await expect(labCommand(["pod", "add", "node1", "web"])).rejects.toThrow("No lab is up");
    await expect(labCommand(["pod", "delete", "web"])).rejects.toThrow("No lab is up");
  });
});
