/**
 * The readiness check lab pods declare (`args.podnet.readiness` through the lab's CNI runtime):
 * by default a TCP connect to the echo server, every second, one failure taking the pod out of
 * its Services' endpoints; `lab pod add --readiness` picks another or none. Pure.
 */
import {
  describeReadinessCheck,
  isReadinessCheck,
  parseReadinessCheck,
  readinessDeclaration,
} from "../node-state/readiness-check.ts";
import { ECHO_PORT } from "./lab-state.ts";

/** A check as a pod declares it (Kubernetes Probe shape), the form inserted in the network config. */
export type ReadinessDeclaration = Readonly<Record<string, unknown>>;

/** Every lab pod's check unless told otherwise: its echo server accepts TCP on ECHO_PORT. */
export const LAB_READINESS: ReadinessDeclaration = {
  tcpSocket: { port: ECHO_PORT },
  periodSeconds: 1,
  failureThreshold: 1,
};

export const READINESS_FLAG_FORMS = "tcp:PORT, http:PORT/PATH or none";

export class ReadinessFlagError extends Error {
  override readonly name = "ReadinessFlagError";
}

const PORT = /^[0-9]{1,5}$/;

/**
 * `--readiness tcp:PORT | http:PORT/PATH | none` → the declaration (with the lab's timing: every
 * second, one failure takes the pod out), null for none, the lab's default when absent.
 */
export function parseReadinessFlag(text: string | undefined): ReadinessDeclaration | null {
  if (text === undefined) return LAB_READINESS;
  if (text === "none") return null;
  const bad = (why: string) =>
    new ReadinessFlagError(`--readiness "${text}": ${why} (expected ${READINESS_FLAG_FORMS})`);
  const colon = text.indexOf(":");
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? "" : text.slice(colon + 1);
  let probe: Record<string, unknown>;
  if (kind === "tcp") {
    if (!PORT.test(rest)) throw bad("tcp: must be followed by a port number");
    probe = { tcpSocket: { port: Number(rest) } };
  } else if (kind === "http") {
    const slash = rest.indexOf("/");
    const port = slash < 0 ? rest : rest.slice(0, slash);
    if (!PORT.test(port) || slash < 0) throw bad("http: must be followed by PORT/PATH");
    probe = { httpGet: { port: Number(port), path: rest.slice(slash) } };
  } else {
    throw bad(`"${kind}" is not a kind of check`);
  }
  const declaration = { ...probe, periodSeconds: 1, failureThreshold: 1 };
  const parsed = parseReadinessCheck(declaration);
  if (!isReadinessCheck(parsed)) throw bad(`${parsed.field} ${parsed.reason}`);
  return readinessDeclaration(parsed);
}

/** "tcp 8080" / "http 8080/healthz" / "none": a pod's check in a message. */
export function describeDeclaration(declaration: ReadinessDeclaration | null | undefined): string {
  if (declaration === null || declaration === undefined) return "none";
  const parsed = parseReadinessCheck(declaration);
  return isReadinessCheck(parsed) ? describeReadinessCheck(parsed) : "invalid";
}

/** Whether a declared check is a TCP connect to the echo server (what `lab check` can stop). */
export function checksEchoServer(declaration: ReadinessDeclaration | null | undefined): boolean {
  if (declaration === null || declaration === undefined) return false;
  const parsed = parseReadinessCheck(declaration);
  return isReadinessCheck(parsed) && parsed.action.kind === "tcp" && parsed.action.port === ECHO_PORT;
}
