import { describe, expect, test } from "bun:test";
import { cniFailure, podnetNetConf } from "../../test/support/cni-fixtures.ts";
import { ErrorCode } from "../cni/errors.ts";
import { podIdentity } from "./pod-identity.ts";
import { parsePodReadiness } from "./pod-readiness.ts";

const conf = (args?: unknown) => podnetNetConf(args !== undefined ? { args } : {});

const failure = (fn: () => unknown) => cniFailure(fn, "expected a CniError, but it was accepted");

describe("parsePodReadiness (args.podnet.readiness)", () => {
  test("no declaration: no check (the pod is always ready)", () => {
    expect(parsePodReadiness(conf())).toBeUndefined();
    expect(parsePodReadiness(conf({ cni: { labels: [] } }))).toBeUndefined();
    expect(parsePodReadiness(conf({ podnet: {} }))).toBeUndefined();
    expect(parsePodReadiness(conf({ podnet: { readiness: null } }))).toBeUndefined();
  });

  test("a declared check reaches the pod's identity, so it is stored with the pod row", () => {
    const netconf = conf({ podnet: { readiness: { tcpSocket: { port: 8080 }, periodSeconds: 1 } } });
    expect(podIdentity(netconf, { K8S_POD_NAME: "web" }, "abc").readiness).toEqual({
      action: { kind: "tcp", port: 8080 },
      periodSeconds: 1,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
      initialDelaySeconds: 0,
    });
    expect("readiness" in podIdentity(conf(), {}, "abc")).toBe(false);
  });

  test.each([
    [{ podnet: "x" }, '"args.podnet" must be an object'],
    [{ podnet: { readiness: 5 } }, '"args.podnet.readiness" must be an object, got the number 5'],
    [
      { podnet: { readiness: { httpGet: { port: 99999 } } } },
      '"args.podnet.readiness.httpGet.port" must be between',
    ],
    [
      { podnet: { readiness: { tcpSocket: { port: 1 }, period: 1 } } },
      '"args.podnet.readiness.period" is not a field',
    ],
    [{ podnet: { readiness: {} } }, '"args.podnet.readiness.tcpSocket/httpGet" exactly one'],
    // A check that could hold the agent's checks for an hour is refused at ADD.
    [
      { podnet: { readiness: { tcpSocket: { port: 1 }, timeoutSeconds: 61 } } },
      '"args.podnet.readiness.timeoutSeconds" must be between 1 and 60, got 61',
    ],
  ])("a bad declaration %j fails the ADD with code 7 naming the field", (args, message) => {
    const e = failure(() => podIdentity(conf(args), {}, "abc"));
    expect(e.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(e.message).toContain(message);
  });
});
