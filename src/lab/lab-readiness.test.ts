import { describe, expect, test } from "bun:test";
import {
  checksEchoServer,
  describeDeclaration,
  LAB_READINESS,
  parseReadinessFlag,
  ReadinessFlagError,
} from "./lab-readiness.ts";

describe("parseReadinessFlag (lab pod add --readiness)", () => {
  test("absent: the lab's TCP check on the echo server; none: no check", () => {
    expect(parseReadinessFlag(undefined)).toBe(LAB_READINESS);
    expect(parseReadinessFlag("none")).toBeNull();
    expect(checksEchoServer(LAB_READINESS)).toBe(true);
    expect(describeDeclaration(LAB_READINESS)).toBe("tcp 8080");
  });

  test("tcp:PORT and http:PORT/PATH, with the lab's timing (every second, one failure)", () => {
    const tcp = parseReadinessFlag("tcp:9000");
    expect(tcp).toMatchObject({ tcpSocket: { port: 9000 }, periodSeconds: 1, failureThreshold: 1 });
    expect(checksEchoServer(tcp)).toBe(false);
    const http = parseReadinessFlag("http:8080/healthz?x=1");
    expect(http).toMatchObject({ httpGet: { port: 8080, path: "/healthz?x=1" }, periodSeconds: 1 });
    expect(describeDeclaration(http)).toBe("http 8080/healthz?x=1");
    expect(describeDeclaration(null)).toBe("none");
  });

  test.each([
    ["tcp", "tcp: must be followed by a port number"],
    ["tcp:", "tcp: must be followed by a port number"],
    ["tcp:http", "tcp: must be followed by a port number"],
    ["tcp:70000", "tcpSocket.port must be between 1 and 65535, got 70000"],
    ["tcp:0", "tcpSocket.port must be between 1 and 65535, got 0"],
    ["http:8080", "http: must be followed by PORT/PATH"],
    ["http:/x", "http: must be followed by PORT/PATH"],
    ["http:8080/a b", 'httpGet.path must start with "/" and hold only URI characters'],
    ["exec:true", '"exec" is not a kind of check'],
    ["", '"" is not a kind of check'],
  ])("%p is refused: %s", (text, why) => {
    let error: unknown;
    try {
      parseReadinessFlag(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReadinessFlagError);
    expect((error as Error).message).toContain(`--readiness "${text}": ${why}`);
    expect((error as Error).message).toContain("tcp:PORT, http:PORT/PATH or none");
  });
});
