/**
 * `podnet ui`'s server bound beyond loopback, on a real cluster (harness/ui-server-cluster.ts): a
 * second server on node1's underlay address (192.0.2.11, inside node1's namespace — nothing in the
 * root namespace) refuses API requests without the token it printed, and a page that never reads
 * its event stream does not make the server hold the maps it missed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import { podRecordKey, putPodRecord } from "../../src/cluster/pod-records.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { ClusterMap } from "../../src/ui/map-types.ts";
import { TOKEN_HEADER } from "../../src/ui/ui-server.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { NODES, podNames, useUiServerCluster } from "./harness/ui-server-cluster.ts";

const UI_SERVER = resolve(import.meta.dir, "../../src/ui/ui-server.ts");
const REMOTE_PORT = 7474;

/** A non-reading client: connects, asks for the event stream, reads nothing until told to on stdin. */
const SLOW_CLIENT = `
import socket, sys, time
host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
s.sendall(("GET /api/events?token=%s HTTP/1.1\\r\\nHost: %s:%d\\r\\n\\r\\n" % (token, host, port)).encode())
print("connected", flush=True)
sys.stdin.readline()
s.settimeout(0.5)
data = b""
end = time.time() + 4
while time.time() < end:
    try:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    except socket.timeout:
        pass
print(data.count(b"event: map"), flush=True)
`;

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
}

describe("podnet ui's server beyond loopback, in node1", () => {
  const ui = useUiServerCluster();
  let child: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let remote: { host: string; url: string; token: string } | undefined;
  const r = () => {
    if (!remote || !child) throw new Error("the server in node1 is not up (an earlier test failed)");
    return { ...remote, child };
  };
  afterAll(async () => {
    child?.kill();
    await child?.exited;
  });

  test("three agents, a pod on each, a Service, and the server", async () => {
    const { server } = await ui.start();
    expect(server.token).toBeUndefined();
  }, 120_000);

  test("bound to node1's underlay address: no token, 401; the printed token, 200", async () => {
    const c = ui.get().cluster;
    const node1 = c.node("node1");
    const host = addressOf(node1);
    const script = `import { startUiServer } from ${JSON.stringify(UI_SERVER)};
const s = await startUiServer({ datastore: ${JSON.stringify(c.datastore)}, hostname: ${JSON.stringify(host)}, port: ${REMOTE_PORT}, log: () => {} });
console.log(s.url);
// Collected often, so that the memory the test measures is what the server really holds.
setInterval(() => Bun.gc(true), 500);
await new Promise(() => {});`;
    child = Bun.spawn(inNetns(node1.netns, [process.execPath, "-e", script]), {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = child.stdout.getReader();
    let printed = "";
    while (!printed.includes("\n")) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`the server exited: ${await new Response(child.stderr).text()}`);
      printed += new TextDecoder().decode(chunk.value);
    }
    reader.releaseLock();
    const url = printed.trim();
    const token = new URL(url).searchParams.get("token") ?? "";
    expect(url.startsWith(`http://${host}:${REMOTE_PORT}/?token=`)).toBe(true);
    expect(token.length).toBeGreaterThanOrEqual(16);
    remote = { host, url, token };
    const curl = async (...args: string[]) => {
      const res = await run(
        inNetns(node1.netns, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", ...args]),
        { timeoutMs: 10_000 },
      );
      return res.stdout.trim();
    };
    const mapUrl = `http://${host}:${REMOTE_PORT}/api/map`;
    expect(await curl(mapUrl)).toBe("401");
    expect(await curl(`${mapUrl}?token=not-the-token`)).toBe("401");
    expect(await curl(`http://${host}:${REMOTE_PORT}/api/explain?address=10.244.0.1`)).toBe("401");
    expect(await curl("-H", `${TOKEN_HEADER}: ${token}`, mapUrl)).toBe("200");
    expect(await curl(`${mapUrl}?token=${token}`)).toBe("200");
  }, 60_000);

  test("a page that never reads its event stream holds no map it missed", async () => {
    const { cluster: c, store } = ui.get();
    const { host, token, child: server } = r();
    const netns = c.node("node1").netns;
    const mapUrl = `http://${host}:${REMOTE_PORT}/api/map`;
    /** The map as a page in node1's namespace gets it, or why not. */
    const remoteMap = async (): Promise<ClusterMap | string> => {
      const res = await run(
        inNetns(netns, ["curl", "-sS", "-m", "10", "-H", `${TOKEN_HEADER}: ${token}`, mapUrl]),
        {
          timeoutMs: 15_000,
        },
      );
      try {
        return JSON.parse(res.stdout) as ClusterMap;
      } catch {
        return `curl exited ${res.code}: ${res.stderr.trim()} (${res.stdout.length} bytes)`;
      }
    };

    // A page that never reads its event stream, while the map changes again and again.
    const slow = Bun.spawn(inNetns(netns, ["python3", "-c", SLOW_CLIENT, host, String(REMOTE_PORT), token]), {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const slowOut = slow.stdout.getReader();
      const first = new TextDecoder().decode((await slowOut.read()).value);
      expect(first).toContain("connected");
      await Bun.sleep(500);

      const label = "x".repeat(60);
      const labels = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`label-${i}`, label]));
      const bulkPod = (node: string, i: number) => ({
        namespace: "default",
        name: `bulk-${node}-${i}`,
        node,
        ips: [`${c.blockOf(node).split(".").slice(0, 3).join(".")}.${i}`],
        labels,
      });
      // A big map first (~1 MB: 720 pods with labels), written at once (few versions)...
      for (const node of NODES)
        await Promise.all(Array.from({ length: 240 }, (_, i) => putPodRecord(store, bulkPod(node, 10 + i))));
      const big = await pollUntil(
        "the big map",
        async () => {
          const m = await remoteMap();
          return typeof m !== "string" && podNames(m).length >= 720 ? m : undefined;
        },
        30_000,
      );
      const mapBytes = JSON.stringify(big.value).length;
      expect(mapBytes).toBeGreaterThan(500_000);
      const versionBefore = big.value.version;
      const before = rssKb(server.pid);
      // ...then many versions of it, one by one: queued for the page, they would be ~100 MB.
      const versions = 100;
      for (let i = 0; i < versions; i++) {
        await store.delete(
          podRecordKey({ node: "node1", namespace: "default", name: `bulk-node1-${10 + i}` }),
        );
        await Bun.sleep(100);
      }
      let seen = "";
      const newest = await pollUntil(
        "the server's map with every bulk Service",
        async () => {
          const m = await remoteMap();
          if (typeof m === "string") {
            seen = m;
            return undefined;
          }
          const bulk = podNames(m).filter((n) => n.startsWith("bulk-node1-")).length;
          seen = `version ${m.version}, ${bulk} bulk pods on node1`;
          return bulk === 240 - versions ? m : undefined;
        },
        30_000,
        { detail: () => seen },
      );
      const produced = newest.value.version - versionBefore;
      expect(produced).toBeGreaterThanOrEqual(10);
      const grownKb = rssKb(server.pid) - before;
      // Held for the slow page: nothing but its socket. Had every missed map been queued for it,
      // the server would hold produced × mapBytes (~100 MB).
      expect(grownKb * 1024).toBeLessThan((produced * mapBytes) / 3);
      expect(grownKb).toBeLessThan(40 * 1024);
      slow.stdin.write("read\n");
      slow.stdin.end();
      let slowSaid = "";
      for (let chunk = await slowOut.read(); !chunk.done; chunk = await slowOut.read())
        slowSaid += new TextDecoder().decode(chunk.value);
      const counted = Number(slowSaid.trim().split("\n").pop());
      // It skipped to the newest: far fewer maps than versions.
      expect(counted).toBeGreaterThan(0);
      expect(counted).toBeLessThanOrEqual(Math.max(3, produced / 3));
    } finally {
      slow.kill();
      await slow.exited;
    }
  }, 180_000);
});
