/**
 * A full sync of `SERVICES` one-port Services with `ENDPOINTS` endpoints each by KernelCommands,
 * `PER_BATCH` elements per netlink batch, run inside a user namespace of its
 * own with a network namespace of its own (`unshare --user --map-root-user --net`): CAP_NET_ADMIN
 * there, not in the initial user namespace, as an agent in a rootless or user-namespaced
 * container has it. The socket buffers cannot be forced there (net.core.wmem_max bounds them).
 * Prints the outcome as JSON.
 */
import { endpoint, nodeInput, service } from "../../../src/proxy/golden-cases.ts";
import { KernelCommands } from "../../../src/proxy/kernel-commands.ts";
import { renderRuleset } from "../../../src/proxy/ruleset.ts";
import { rulesetContent } from "../../../src/proxy/table-content.ts";

const [services, endpoints, perBatch] = process.argv.slice(2, 5).map(Number);
const whole = (n: number | undefined, max: number): n is number =>
  Number.isInteger(n) && n !== undefined && n >= 1 && n <= max;
if (!whole(services, 60_000) || !whole(endpoints, 20) || !whole(perBatch, 10_000_000)) {
  console.error("usage: userns-full-sync.ts SERVICES (1–60000) ENDPOINTS (1–20) PER_BATCH");
  process.exit(2);
}
const input = nodeInput(
  Array.from({ length: services }, (_, s) => ({
    service: service(
      `s${s}`,
      [`10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`],
      [{ protocol: "TCP" as const, port: 80, targetPort: 8080 }],
    ),
    endpoints: Array.from({ length: endpoints }, (_, e) => {
      const n = s * endpoints + e;
      return endpoint(`10.${244 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`);
    }),
  })),
);
const kernel = new KernelCommands({ session: false, elementsPerBatch: perBatch });
const outcome = await kernel.replaceTable(rulesetContent(renderRuleset(input)));
await kernel.close();
console.log(JSON.stringify(outcome));
