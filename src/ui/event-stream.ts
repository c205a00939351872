/** The event stream (Server-Sent Events) of one page of `podnet ui`, pulled at the page's pace. */
import type { MapFeed } from "./map-feed.ts";

/** A quiet event stream gets a comment this often (Bun's idle timeout is 10 s). */
const PING_MS = 5000;
const encoder = new TextEncoder();

/**
 * The event stream of one page, pulled: Bun asks for the next chunk only when the socket took the
 * last one, so a page that stops reading costs one parked pull and nothing queued. Each chunk is
 * the newest map (versions the page was too slow for are skipped) or, after PING_MS, a ping.
 */
export function eventStream(feed: MapFeed, signal: AbortSignal): ReadableStream<Uint8Array> {
  let sent = -1;
  let release: (() => void) | undefined = feed.watch();
  const stop = () => {
    release?.();
    release = undefined;
  };
  signal.addEventListener("abort", stop);
  return new ReadableStream<Uint8Array>(
    {
      async pull(ctl) {
        if (release === undefined) {
          ctl.close();
          return;
        }
        if (sent < 0) {
          const map = feed.current();
          sent = map.version;
          ctl.enqueue(encoder.encode("retry: 1000\n\n"));
          ctl.enqueue(feed.serialized(map).event);
          return;
        }
        const map = await feed.next(sent, PING_MS, signal);
        if (signal.aborted || release === undefined) {
          stop();
          ctl.close();
          return;
        }
        if (map === undefined) {
          ctl.enqueue(encoder.encode(": ping\n\n"));
          return;
        }
        sent = map.version;
        ctl.enqueue(feed.serialized(map).event);
      },
      cancel: stop,
    },
    { highWaterMark: 0 },
  );
}
