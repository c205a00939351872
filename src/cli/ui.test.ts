import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

  test.each([
    [["--router", "Core=192.0.2.1"], /router name "Core" must be/],
    [["--router", "core=192.0.2.1,nope"], /router "core": "nope" is not an IP address/],
    [["--router", "core"], /router "core" must be NAME=IP/],
    [["--router", "a=192.0.2.1", "--router", "b=192.0.2.1"], /given to both router "a" and router "b"/],
    [["--token", "t0123456789abcdef", "--token-file", "/x"], /not both/],
    [["--token-file", "/nonexistent/podnet-token"], /token file \/nonexistent\/podnet-token: cannot read it/],
  ])("refuses %p as a usage error naming what is wrong", async (flags, message) => {
    const { io } = capture();
    const run = () =>
      uiCommand(["--datastore", "sqlite:/nonexistent/x.db", ...flags], parse, io, undefined, {});
    await expect(run()).rejects.toBeInstanceOf(UsageError);
    await expect(run()).rejects.toThrow(message);
  });

  test("a bad PODNET_UI_TOKEN is a usage error naming the variable", async () => {
    const { io } = capture();
    const env = { PODNET_UI_TOKEN: "short" };
    await expect(uiCommand(["--datastore", "sqlite:/x"], parse, io, async () => {}, env)).rejects.toThrow(
      "PODNET_UI_TOKEN: it is 5 characters long, shorter than 16",
    );
  });

  async function clusterSpec(): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), "podnet-ui-cli-"));
    dirs.push(dir);
    const spec = `sqlite:${dir}/cluster.db`;
    const store = await openStore(spec);
    await initClusterConfig(
      store,
      buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
    );
    await store.close();
    return spec;
  }

  test("--token-file's token guards the map over the environment's; --router reaches the map", async () => {
    const spec = await clusterSpec();
    const tokenFile = join(dirs[0] ?? tmpdir(), "token");
    writeFileSync(tokenFile, "file-token-0123456789\n");
    const { io, out } = capture();
    const seen: { url: string; without: number; withToken: number; routers: unknown } = {
      url: "",
      without: 0,
      withToken: 0,
      routers: undefined,
    };
    const argv = ["--datastore", spec, "--listen", "127.0.0.1:0", "--token-file", tokenFile];
    const routers = ["--router", "edge=203.0.113.1,198.51.100.1"];
    const env = { PODNET_UI_TOKEN: "env-token-0123456789" };
    const code = await uiCommand(
      [...argv, ...routers],
      parse,
      io,
      async () => {
        seen.url = /at (http:\S+)/.exec(out.join("\n"))?.[1] ?? "";
        const bare = await fetch(new URL("/api/map", seen.url));
        seen.without = bare.status;
        await bare.text();
        const res = await fetch(new URL("/api/map", seen.url), {
          headers: { "x-podnet-token": "file-token-0123456789" },
        });
        seen.withToken = res.status;
        seen.routers = ((await res.json()) as { routers: unknown }).routers;
      },
      env,
    );
    expect(code).toBe(0);
    expect(seen.url).toMatch(/\?token=file-token-0123456789$/);
    expect(seen.without).toBe(401);
    expect(seen.withToken).toBe(200);
    // No node: the named router has no segment, and is drawn all the same.
    expect(seen.routers).toEqual([
      { name: "edge", addresses: ["203.0.113.1", "198.51.100.1"], segments: [] },
    ]);
  });

  test("serves until stopped and prints the URL", async () => {
    const spec = await clusterSpec();
    const { io, out } = capture();
    let served = 0;
    const code = await uiCommand(
      ["--datastore", spec, "--listen", "127.0.0.1:0"],
      parse,
      io,
      async () => {
        const url = /at (http:\S+)/.exec(out.join("\n"))?.[1] ?? "";
        const res = await fetch(new URL("/api/map", url));
        served = res.status;
        await res.text();
      },
      {},
    );
    expect(code).toBe(0);
    expect(served).toBe(200);
    expect(out.join("\n")).toMatch(/at http:\/\/127\.0\.0\.1:\d+\/$/m);
  });

  test("without a token flag, PODNET_UI_TOKEN's token (trimmed) guards the map", async () => {
    const spec = await clusterSpec();
    const { io, out } = capture();
    const statuses: number[] = [];
    const env = { PODNET_UI_TOKEN: " env-token-0123456789\n" };
    await uiCommand(
      ["--datastore", spec, "--listen", "127.0.0.1:0"],
      parse,
      io,
      async () => {
        const url = /at (http:\S+)/.exec(out.join("\n"))?.[1] ?? "";
        expect(url).toEndWith("?token=env-token-0123456789");
        const attempts: Record<string, string>[] = [
          {},
          { "x-podnet-token": "env-token-012345678" },
          { "x-podnet-token": "env-token-0123456789" },
        ];
        for (const headers of attempts) {
          const res = await fetch(new URL("/api/map", url), { headers });
          statuses.push(res.status);
          await res.text();
        }
      },
      env,
    );
    expect(statuses).toEqual([401, 401, 200]);
  });
});
