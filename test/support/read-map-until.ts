/** Reading the map event stream of `podnet ui` in tests (src/ui/ui-server.test.ts, test/integration/ui-server-*.test.ts). */
import type { ClusterMap } from "../../src/ui/map-types.ts";

/** Reads `event: map` events from an SSE body until `want` holds for one. */
export async function readMapUntil(
  body: ReadableStream<Uint8Array>,
  want: (m: ClusterMap) => boolean,
  timeoutMs: number,
): Promise<ClusterMap> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        Bun.sleep(Math.max(1, deadline - Date.now())).then(() => undefined),
      ]);
      if (chunk === undefined || chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").find((l) => l.startsWith("data: "));
        if (event.startsWith("event: map") && data !== undefined) {
          const map = JSON.parse(data.slice(6)) as ClusterMap;
          if (want(map)) return map;
        }
        end = buffer.indexOf("\n\n");
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  throw new Error(`no matching map event within ${timeoutMs} ms`);
}
