/**
 * What the DNS server counts: plain numbers a test or `podnet agent` can read, and the same as
 * Prometheus series when the daemon's registry is given.
 */
import type { Counter, Histogram, Metrics } from "../daemon/metrics.ts";
import type { ForwardSource } from "./forwarder.ts";

export const DROP_REASONS = [
  "rate-limit",
  "malformed",
  "tcp-frame",
  "tcp-connections",
  "tcp-client-connections",
  "error",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type AnswerSource = "zone" | ForwardSource;

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
const rcodeName = (rcode: number) => RCODE_NAMES[rcode] ?? `RCODE${rcode}`;

export class DnsStats {
  queries = 0;
  readonly dropped: Record<DropReason, number> = {
    "rate-limit": 0,
    malformed: 0,
    "tcp-frame": 0,
    "tcp-connections": 0,
    "tcp-client-connections": 0,
    error: 0,
  };
  readonly bySource: Record<AnswerSource, number> = { zone: 0, cache: 0, upstream: 0, failed: 0, busy: 0 };
  readonly byRcode = new Map<string, number>();
  private readonly series:
    | { queries: Counter; replies: Counter; dropped: Counter; seconds: Histogram }
    | undefined;

  constructor(metrics?: Metrics) {
    if (metrics === undefined) return;
    this.series = {
      queries: metrics.counter("podnet_dns_queries_total", "DNS queries received, by transport.", [
        "transport",
      ]),
      replies: metrics.counter("podnet_dns_replies_total", "DNS replies sent, by source and rcode.", [
        "source",
        "rcode",
      ]),
      dropped: metrics.counter("podnet_dns_dropped_total", "DNS queries dropped unanswered, by reason.", [
        "reason",
      ]),
      seconds: metrics.histogram(
        "podnet_dns_reply_duration_seconds",
        "Time from a query to its reply, by source.",
        [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5],
        ["source"],
      ),
    };
    for (const reason of DROP_REASONS) this.series.dropped.inc({ reason }, 0);
  }

  query(transport: "udp" | "tcp"): void {
    this.queries++;
    this.series?.queries.inc({ transport });
  }

  drop(reason: DropReason): void {
    this.dropped[reason]++;
    this.series?.dropped.inc({ reason });
  }

  reply(source: AnswerSource, rcode: number, startedMs: number): void {
    this.bySource[source]++;
    const name = rcodeName(rcode);
    this.byRcode.set(name, (this.byRcode.get(name) ?? 0) + 1);
    if (this.series === undefined) return;
    this.series.replies.inc({ source, rcode: name });
    this.series.seconds.observe({ source }, (performance.now() - startedMs) / 1000);
  }
}
