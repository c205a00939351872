/**
 * Runs `ipBatch` in the namespace this process was started in (`ip netns exec NODE bun
 * ip-batch-runner.ts`), so the equivalence test can drive both the netlink and the `ip -batch`
 * executors (PODNET_NETLINK=0) without ever acting on the test runner's own namespace.
 * stdin: {"commands": [[...tokens]], "netns": "/run/netns/x" | null}; stdout: {"ok": true} or the error.
 */
import { readFileSync } from "node:fs";
import type { IpCommand } from "../../../src/linux/ip.ts";
import { CURRENT_NETNS, IpBatchError, ipBatch, netnsAt } from "../../../src/linux/ip.ts";

const input = JSON.parse(readFileSync(0, "utf8")) as { commands: IpCommand[]; netns: string | null };
try {
  ipBatch(input.commands, input.netns ? netnsAt(input.netns) : CURRENT_NETNS);
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  if (!(e instanceof IpBatchError)) throw e;
  console.log(
    JSON.stringify({
      ok: false,
      failedIndex: e.failedIndex,
      exists: e.exists,
      notFound: e.notFound,
      message: e.message,
    }),
  );
}
