import { describe, expect, test } from "bun:test";
import { parseReadinessCheck, readinessDeclaration, sameReadinessCheck } from "./readiness-check.ts";

describe("parseReadinessCheck", () => {
  test("a TCP check gets kubelet's defaults", () => {
    expect(parseReadinessCheck({ tcpSocket: { port: 8080 } })).toEqual({
      action: { kind: "tcp", port: 8080 },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
      initialDelaySeconds: 0,
    });
  });

  test("an HTTP check keeps its path and timing; the path defaults to /", () => {
    const check = parseReadinessCheck({
      httpGet: { port: 80, path: "/healthz?full=1", scheme: "HTTP" },
      periodSeconds: 1,
      timeoutSeconds: 2,
      successThreshold: 2,
      failureThreshold: 1,
      initialDelaySeconds: 5,
    });
    expect(check).toEqual({
      action: { kind: "http", port: 80, path: "/healthz?full=1" },
      periodSeconds: 1,
      timeoutSeconds: 2,
      successThreshold: 2,
      failureThreshold: 1,
      initialDelaySeconds: 5,
    });
    expect(parseReadinessCheck({ httpGet: { port: 80 } })).toMatchObject({ action: { path: "/" } });
  });

  test.each([
    [[], "readiness", "must be an object, got an array"],
    [{}, "tcpSocket/httpGet", "exactly one of the two must be given"],
    [{ tcpSocket: { port: 1 }, httpGet: { port: 1 } }, "tcpSocket/httpGet", "exactly one"],
    [{ tcpSocket: { port: 0 } }, "tcpSocket.port", "must be between 1 and 65535, got 0"],
    [{ tcpSocket: { port: "8080" } }, "tcpSocket.port", 'must be a whole number, got the string "8080"'],
    [{ tcpSocket: { port: 80, host: "x" } }, "tcpSocket.host", "is not a field"],
    [{ httpGet: { port: 80, path: "healthz" } }, "httpGet.path", 'must start with "/"'],
    [{ httpGet: { port: 80, path: "/a b" } }, "httpGet.path", "URI characters"],
    [{ httpGet: { port: 80, scheme: "HTTPS" } }, "httpGet.scheme", 'must be "HTTP"'],
    [{ tcpSocket: { port: 80 }, periodSeconds: 0 }, "periodSeconds", "between 1 and 86400, got 0"],
    [{ tcpSocket: { port: 80 }, timeoutSeconds: 0.5 }, "timeoutSeconds", "whole number, got the number 0.5"],
    [{ tcpSocket: { port: 80 }, timeoutSeconds: 3600 }, "timeoutSeconds", "between 1 and 60, got 3600"],
    [{ tcpSocket: { port: 80 }, failureThreshold: 0 }, "failureThreshold", "between 1 and 1000"],
    [{ tcpSocket: { port: 80 }, initialDelaySeconds: -1 }, "initialDelaySeconds", "between 0 and 86400"],
    [{ tcpSocket: { port: 80 }, periodSecond: 1 }, "periodSecond", "is not a field of a readiness check"],
  ] as const)("refuses %j: %s %s", (value, field, reason) => {
    const problem = parseReadinessCheck(value);
    expect(problem).toMatchObject({ field });
    expect((problem as { reason: string }).reason).toContain(reason);
  });

  test("the declaration form reads back to the same check", () => {
    for (const value of [
      { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      { httpGet: { port: 8080, path: "/ready" }, failureThreshold: 1 },
    ]) {
      const check = parseReadinessCheck(value);
      if (!("action" in check)) throw new Error(check.reason);
      const again = parseReadinessCheck(JSON.parse(JSON.stringify(readinessDeclaration(check))));
      expect(again).toEqual(check);
      expect(sameReadinessCheck(check, again as typeof check)).toBe(true);
    }
    const a = parseReadinessCheck({ tcpSocket: { port: 1 } });
    const b = parseReadinessCheck({ tcpSocket: { port: 2 } });
    if (!("action" in a) || !("action" in b)) throw new Error("unexpected problem");
    expect(sameReadinessCheck(a, b)).toBe(false);
    expect(sameReadinessCheck(a, undefined)).toBe(false);
    expect(sameReadinessCheck(undefined, undefined)).toBe(true);
  });
});
