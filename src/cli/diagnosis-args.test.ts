import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "./args.ts";
import {
  EXPLAIN_SWITCHES,
  EXPLAIN_TIMEOUT_MS,
  parseExplainArgs,
  parseTraceArgs,
  probeTimeoutFor,
  randomSourcePort,
  SOURCE_PORT_MAX,
  SOURCE_PORT_MIN,
  selfCommand,
  TRACE_SWITCHES,
  TRACE_TIMEOUT_MS,
} from "./diagnosis-args.ts";

const explain = (...argv: string[]) => parseExplainArgs(parseArgs(argv, EXPLAIN_SWITCHES));
const trace = (...argv: string[]) => parseTraceArgs(parseArgs(argv, TRACE_SWITCHES));

function usageError(f: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(UsageError);
  expect((caught as Error).message).toMatch(message);
}

describe("podnet explain arguments", () => {
  test("address, datastore, defaults and flags", () => {
    expect(explain("10.244.1.2", "--datastore", "sqlite:/x.db")).toEqual({
      target: "10.244.1.2",
      datastore: "sqlite:/x.db",
      json: false,
      timeoutMs: EXPLAIN_TIMEOUT_MS,
    });
    expect(
      explain("192.0.2.11:30080", "--json", "--datastore=etcd://10.0.0.1:2379", "--timeout-ms", "500"),
    ).toEqual({
      target: "192.0.2.11:30080",
      datastore: "etcd://10.0.0.1:2379",
      json: true,
      timeoutMs: 500,
    });
  });

  test("malformed command lines are usage errors naming the problem", () => {
    usageError(() => explain("--datastore", "sqlite:/x.db"), /usage: podnet explain ADDRESS/);
    usageError(() => explain("10.0.0.1"), /--datastore is required/);
    usageError(
      () => explain("10.0.0.1", "10.0.0.2", "--datastore", "sqlite:/x.db"),
      /unexpected argument "10.0.0.2"/,
    );
    usageError(
      () => explain("10.0.0.1", "--datastore", "sqlite:/x.db", "--no-probe=true"),
      /unknown option --no-probe/,
    );
    usageError(
      () => explain("10.0.0.1", "--datastore", "sqlite:/x.db", "--timeout-ms", "5s"),
      /--timeout-ms "5s"/,
    );
    usageError(() => explain("10.0.0.1", "--datastore", "sqlite:/x.db", "--timeout-ms", "99"), /from 100 to/);
  });
});

describe("podnet trace arguments", () => {
  test("source, destination, defaults and every flag", () => {
    expect(trace("default/node1-a", "default/echo:80/tcp", "--datastore", "sqlite:/x.db")).toEqual({
      source: "default/node1-a",
      destination: "default/echo:80/tcp",
      datastore: "sqlite:/x.db",
      json: false,
      probe: true,
      timeoutMs: TRACE_TIMEOUT_MS,
    });
    expect(
      trace(
        "203.0.113.100",
        "192.0.2.11:30080",
        "--no-probe",
        "--json",
        "--datastore",
        "sqlite:/x.db",
        "--external-probe-netns",
        "pnlab-ab12-external",
      ),
    ).toEqual({
      source: "203.0.113.100",
      destination: "192.0.2.11:30080",
      datastore: "sqlite:/x.db",
      json: true,
      probe: false,
      timeoutMs: TRACE_TIMEOUT_MS,
      externalProbeNetns: "pnlab-ab12-external",
    });
  });

  test("malformed command lines are usage errors", () => {
    usageError(() => trace("node1", "--datastore", "sqlite:/x.db"), /usage: podnet trace SOURCE DESTINATION/);
    usageError(() => trace("a", "b", "c", "--datastore", "sqlite:/x.db"), /unexpected argument "c"/);
    usageError(() => trace("a", "b"), /--datastore is required/);
    usageError(
      () => trace("a", "b", "--datastore", "sqlite:/x.db", "--external-probe-netns", "../etc"),
      /--external-probe-netns/,
    );
  });
});

describe("probe parameters", () => {
  test("source ports stay in 20000–29999, outside the kernel's ephemeral range", () => {
    expect(randomSourcePort(() => 0)).toBe(SOURCE_PORT_MIN);
    expect(randomSourcePort(() => 0.999999)).toBe(SOURCE_PORT_MAX);
    for (let i = 0; i < 1000; i++) {
      const p = randomSourcePort();
      expect(p >= 20000 && p <= 29999).toBe(true);
    }
  });

  test("the probe's timeout leaves the session room to arm and observe", () => {
    expect(probeTimeoutFor(10_000)).toBe(2000);
    expect(probeTimeoutFor(2000)).toBe(500);
    expect(probeTimeoutFor(100)).toBe(100);
  });

  test("the CLI runs itself again as the compiled executable, or as bun and the script", () => {
    expect(selfCommand("/run/podnet-lab/x/podnet", "/$bunfs/root/podnet")).toEqual([
      "/run/podnet-lab/x/podnet",
    ]);
    expect(selfCommand("/work/node_modules/.bin/bun", "/work/src/main.ts")).toEqual([
      "/work/node_modules/.bin/bun",
      "/work/src/main.ts",
    ]);
  });
});
