/**
 * Watches one namespace's routing table with `ip -ts monitor route`: the kernel notifies every
 * route change over netlink, `ip` stamps it with the time it read it, and we keep the events.
 * One idle process per node costs nothing while it waits, unlike polling 49 namespaces with
 * `ip route show`, whose own CPU use would slow the agents it measures on a small machine.
 */
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";
import type { RouteEvent } from "./route-events.ts";
import { parseRouteEvent } from "./route-events.ts";

export class RouteMonitor {
  readonly events: RouteEvent[] = [];
  private readonly child: Child;
  private readonly reading: Promise<void>;

  constructor(
    private readonly sandbox: BenchSandbox,
    readonly netns: string,
  ) {
    // `ip netns exec` rather than `ip -n`: the same namespace entry as everything else here.
    this.child = sandbox.spawn(`route monitor ${netns}`, inNetns(netns, ["ip", "-ts", "monitor", "route"]));
    this.reading = this.read();
  }

  private async read(): Promise<void> {
    const stdout = this.child.proc.stdout;
    if (!stdout || typeof stdout === "number") return;
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of stdout as ReadableStream<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const e = parseRouteEvent(line);
        if (e) this.events.push(e);
      }
    }
  }

  /** The first time a route to `dst` (with protocol `proto`) was added at or after `sinceMs`. */
  firstAdd(dst: string, proto: string, sinceMs: number): RouteEvent | undefined {
    return this.events.find((e) => !e.deleted && e.dst === dst && e.proto === proto && e.atMs >= sinceMs);
  }

  /** The first time a route to `dst` (with protocol `proto`) was removed at or after `sinceMs`. */
  firstDelete(dst: string, proto: string, sinceMs: number): RouteEvent | undefined {
    return this.events.find((e) => e.deleted && e.dst === dst && e.proto === proto && e.atMs >= sinceMs);
  }

  async stop(): Promise<void> {
    await this.sandbox.stop(this.child, 1000);
    await this.reading.catch(() => undefined);
  }
}
