import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initClusterConfig } from "../cluster/cluster-config-store.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { openStore } from "../store/open-store.ts";
import { parseArgs, UsageError } from "./args.ts";
import { UI_SWITCHES, uiCommand } from "./ui.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const parse = (a: readonly string[]) => parseArgs(a, UI_SWITCHES);

function capture() {
  const out: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: () => {} }, out };
}

describe("podnet ui", () => {
  test("--help prints the usage", async () => {
    const { io, out } = capture();
    expect(await uiCommand(["--help"], parse, io)).toBe(0);
    expect(out.join("\n")).toContain("podnet ui --datastore SPEC");
  });

  test("a malformed command line is a usage error", async () => {
    const { io } = capture();
    await expect(uiCommand([], parse, io)).rejects.toBeInstanceOf(UsageError);
    await expect(uiCommand(["--datastore", "sqlite:/x", "extra"], parse, io)).rejects.toBeInstanceOf(
      UsageError,
    );
    await expect(
      uiCommand(["--datastore", "sqlite:/x", "--listen", "nowhere"], parse, io),
    ).rejects.toBeInstanceOf(UsageError);
    await expect(uiCommand(["--datastore", "sqlite:/x", "--port", "1"], parse, io)).rejects.toBeInstanceOf(
      UsageError,
    );
  });

  test("serves until stopped and prints the URL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "podnet-ui-cli-"));
    dirs.push(dir);
    const spec = `sqlite:${dir}/cluster.db`;
    const store = await openStore(spec);
    await initClusterConfig(
      store,
      buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
    );
    await store.close();
    const { io, out } = capture();
    let served = 0;
    const code = await uiCommand(["--datastore", spec, "--listen", "127.0.0.1:0"], parse, io, async () => {
      const url = /at (http:\S+)/.exec(out.join("\n"))?.[1] ?? "";
      const res = await fetch(new URL("/api/map", url));
      served = res.status;
      await res.text();
    });
    expect(code).toBe(0);
    expect(served).toBe(200);
    expect(out.join("\n")).toMatch(/at http:\/\/127\.0\.0\.1:\d+\/$/m);
  });
});
