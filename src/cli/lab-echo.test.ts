import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "./args.ts";
import { ECHO_CLIENT_SWITCHES, parseEchoClientArgs, parseEchoServerArgs } from "./lab-echo.ts";

const client = (line: string) => parseEchoClientArgs(parseArgs(line.split(" "), ECHO_CLIENT_SWITCHES));
const server = (line: string) => parseEchoServerArgs(parseArgs(line ? line.split(" ") : []));

describe("lab echo-client arguments", () => {
  test("a TCP probe with the defaults the lab relies on", () => {
    expect(client("--host 10.244.1.2")).toEqual({
      host: "10.244.1.2",
      port: 8080,
      timeoutMs: 3000,
      udp: false,
      localPort: undefined,
    });
  });

  test("--udp is a switch, wherever it stands", () => {
    const expected = { host: "fd00::a", port: 53, timeoutMs: 500, udp: true, localPort: 40000 };
    expect(client("--host fd00::a --port 53 --timeout 500 --udp --local-port 40000")).toEqual(expected);
    expect(client("--host fd00::a --port 53 --timeout 500 --local-port 40000 --udp")).toEqual(expected);
    expect(client("--udp --host fd00::a --port=53 --timeout=500 --local-port=40000")).toEqual(expected);
    expect(client("--host 10.96.0.10 --udp=false").udp).toBe(false);
  });

  test("refuses what is not an IP address, naming --host", () => {
    for (const host of ["example.com", "10.0.0.256", "10.0.0", "fe80::1%eth0", "[::1]"]) {
      expect(() => client(`--host ${host}`)).toThrow(`--host "${host}" must be an IPv4 or IPv6 address`);
    }
    expect(() => client("--port 80")).toThrow("--host is required");
  });

  test("refuses ports outside 1..65535 or not plain integers, naming the flag", () => {
    for (const port of ["0", "65536", "-1", "8.5", "1e3", "http", ""]) {
      expect(() => client(`--host 10.0.0.1 --port=${port}`)).toThrow(
        `--port "${port}" must be a port number from 1 to 65535`,
      );
      expect(() => client(`--host 10.0.0.1 --udp --local-port=${port}`)).toThrow(
        `--local-port "${port}" must be a port number from 1 to 65535`,
      );
    }
    expect(client("--host 10.0.0.1 --port 65535").port).toBe(65535);
    expect(client("--host 10.0.0.1 --port 1").port).toBe(1);
  });

  test("refuses a timeout that is not a positive integer, naming --timeout", () => {
    for (const t of ["0", "-5", "1.5", "soon", "600001"]) {
      expect(() => client(`--host 10.0.0.1 --timeout=${t}`)).toThrow(
        `--timeout "${t}" must be a positive integer number of milliseconds`,
      );
    }
    expect(client("--host 10.0.0.1 --timeout 1").timeoutMs).toBe(1);
  });

  test("--local-port only makes sense with --udp", () => {
    expect(() => client("--host 10.0.0.1 --local-port 40000")).toThrow("--local-port needs --udp");
  });

  test("unknown flags, stray arguments and switch values are usage errors", () => {
    expect(() => client("--host 10.0.0.1 --tcp")).toThrow(UsageError);
    expect(() => client("--host 10.0.0.1 --tcp x")).toThrow("unknown option --tcp");
    expect(() => client("--host 10.0.0.1 extra")).toThrow('unexpected argument "extra"');
    expect(() => client("--host 10.0.0.1 --udp=yes")).toThrow('--udp takes no value (got "yes")');
  });
});

describe("lab echo-server arguments", () => {
  test("pod and port, with the lab's defaults", () => {
    expect(server("--pod node1-a --port 9000")).toEqual({ pod: "node1-a", port: 9000 });
    expect(server("")).toEqual({ pod: "unknown", port: 8080 });
  });

  test("refuses a bad port, naming --port", () => {
    expect(() => server("--pod a --port 0")).toThrow('--port "0" must be a port number from 1 to 65535');
  });
});
