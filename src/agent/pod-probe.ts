/**
 * One readiness check of a pod, from the node's own network namespace to the pod's address as
 * kubelet does it (pkg/probe/tcp, pkg/probe/http): TCP succeeds when the connection is
 * established within the timeout (then it is closed at once); HTTP sends `GET path` and succeeds
 * on a status from 200 to 399 — a redirect counts as success and is not followed. HTTP is spoken
 * over a plain socket rather than fetch: no proxy from the environment, no pooled connection that
 * would hide a server gone, and the timeout covers connecting and the status line alike.
 */
import { connect, type Socket } from "node:net";
import { errorText } from "../base/error-text.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { ReadinessAction } from "../node-state/node-state.ts";
import type { CheckResult } from "./readiness-state.ts";

export interface ProbeOutcome {
  readonly result: CheckResult;
  /** What happened, for the log: "connected", "HTTP 503", "ECONNREFUSED", "timed out after 1000 ms". */
  readonly detail: string;
}

/** The status line is all a check reads; a server sending more before it is not HTTP. */
const MAX_HEAD = 8 * 1024;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |\r?$)/;

/** One check of `action` against `ip`; never throws (whatever goes wrong is a failure). */
export function probePod(ip: string, action: ReadinessAction, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    let head = "";
    let settled = false;
    const finish = (result: CheckResult, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve({ result, detail });
    };
    const timer = setTimeout(() => finish("failure", `timed out after ${timeoutMs} ms`), timeoutMs);
    try {
      socket = connect({ host: ip, port: action.port });
    } catch (e) {
      finish("failure", errorText(e));
      return;
    }
    socket.on("error", (e: NodeJS.ErrnoException) => finish("failure", e.code ?? errorText(e)));
    socket.on("close", () =>
      finish("failure", head === "" ? "closed before answering" : "no HTTP status line"),
    );
    socket.on("connect", () => {
      if (action.kind === "tcp") return finish("success", "connected");
      socket?.write(
        `GET ${action.path} HTTP/1.1\r\nHost: ${hostPort(ip, action.port)}\r\nUser-Agent: podnet-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n`,
      );
    });
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\n");
      if (end < 0) {
        if (head.length > MAX_HEAD) finish("failure", "no HTTP status line");
        return;
      }
      const status = STATUS_LINE.exec(head.slice(0, end + 1).replace(/\n$/, ""));
      if (!status) return finish("failure", "no HTTP status line");
      const code = Number(status[1]);
      finish(code >= 200 && code < 400 ? "success" : "failure", `HTTP ${code}`);
    });
  });
}

/** A probe that does not end this long after its timeout is a failure all the same. */
export const PROBE_GRACE_MS = 250;

/**
 * `probe` bounded by its own timeout: one that neither ends nor throws (a fake, or a bug) is a
 * failure once `timeoutMs` and a grace have passed, and one that throws is a failure too.
 */
export function probeWithin(
  probe: (ip: string, action: ReadinessAction, timeoutMs: number) => Promise<ProbeOutcome>,
  ip: string,
  action: ReadinessAction,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<ProbeOutcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ result: "failure", detail: `no result within ${timeoutMs} ms` }),
      timeoutMs + PROBE_GRACE_MS,
    );
  });
  const probed = probe(ip, action, timeoutMs).catch(
    (e): ProbeOutcome => ({ result: "failure", detail: errorText(e) }),
  );
  return Promise.race([probed, late]).finally(() => clearTimeout(timer));
}
