/**
 * The etcd members the store tests and the lab run: started on free loopback ports, restarted
 * on the same data, and gone without a trace after close.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EtcdCluster, startEtcdCluster } from "../../src/linux/etcd-process.ts";
import { EtcdStore } from "../../src/store/etcd-store.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";

const dir = mkdtempSync(join(tmpdir(), "podnet-store-test-"));
const unregister = disposeOnExit(() => rmSync(dir, { recursive: true, force: true }));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startEtcdCluster", () => {
  let cluster: EtcdCluster | undefined;

  afterAll(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
    unregister();
  });

  test("a member keeps its data across a crash and restart, and close removes everything", async () => {
    const root = join(dir, "one");
    cluster = await startEtcdCluster({ members: 1, dataRoot: root });
    const [member] = cluster.members;
    if (!member) throw new Error("no member");
    expect(member.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect([2379, 2380]).not.toContain(member.clientPort);
    expect(cluster.spec).toBe(`etcd://${member.endpoint}`);

    const store = new EtcdStore(cluster.endpoints);
    try {
      await store.put("/kept", "across restarts");
      const pid = member.pid as number;
      await cluster.stop(member, "SIGKILL");
      expect(member.running).toBe(false);
      expect(processAlive(pid)).toBe(false);
      await cluster.start(member);
      expect(member.running).toBe(true);
      expect((await store.get("/kept"))?.value).toBe("across restarts");
    } finally {
      await store.close();
    }

    const pid = member.pid as number;
    await cluster.close();
    cluster = undefined;
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(root)).toBe(false);
  }, 60_000);

  test("refuses a data root that is relative, has '..', or is not empty", async () => {
    const busy = join(dir, "busy");
    mkdirSync(busy);
    writeFileSync(join(busy, "precious"), "not etcd's");
    for (const dataRoot of ["relative/dir", `${dir}/../x`, busy]) {
      let error: unknown;
      try {
        await startEtcdCluster({ members: 1, dataRoot });
      } catch (e) {
        error = e;
      }
      expect(String(error)).toMatch(/Invalid etcd data root/);
    }
    expect(existsSync(join(busy, "precious"))).toBe(true);
  });
});
