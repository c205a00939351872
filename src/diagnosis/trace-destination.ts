/**
 * The destination of a trace as written (pure): "DEST[:PORT][/tcp|udp|icmp]" split into the
 * target and the protocol, and the protocol a destination gets when none is written.
 */
import { unhandled } from "../base/unhandled.ts";
import type { TraceProto } from "../cluster/diagnosis-protocol.ts";
import type { ResolvedTarget } from "./target.ts";
import { TracePlanError } from "./trace-plan.ts";

const PROTO_SUFFIX = /\/(tcp|udp|icmp)$/i;

/**
 * Splits "DEST[:PORT][/tcp|udp|icmp]" into the target text and the protocol written, if any. The
 * protocol is lower-cased; without one the caller picks with {@link defaultTraceProto}.
 */
export function parseTraceDestination(text: string): { target: string; proto?: TraceProto } {
  const m = PROTO_SUFFIX.exec(text);
  if (!m?.[1]) return { target: text };
  const target = text.slice(0, text.length - m[0].length);
  if (target === "")
    throw new TracePlanError(`Cannot trace to "${text}": no destination before the protocol`);
  return { target, proto: m[1].toLowerCase() as TraceProto };
}

/** tcp when the destination has a port (or is a Service or NodePort), icmp otherwise. */
export function defaultTraceProto(destination: ResolvedTarget): TraceProto {
  switch (destination.kind) {
    case "service":
      return destination.protocol === "UDP" ? "udp" : "tcp";
    case "node-port":
      return destination.servicePort.protocol === "UDP" ? "udp" : "tcp";
    case "pod":
    case "node":
    case "external":
      return destination.port === undefined ? "icmp" : "tcp";
    default:
      return unhandled(destination, (shown) => new TracePlanError(`unhandled target ${shown}`));
  }
}
