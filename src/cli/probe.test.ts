import { describe, expect, test } from "bun:test";
import { UsageError } from "./args.ts";
import { parseProbeArgs } from "./probe.ts";

describe("podnet probe flags", () => {
  test("parses a tcp and an icmp probe", () => {
    expect(
      parseProbeArgs(["--to", "10.244.1.2", "--port", "8080", "--proto", "tcp", "--sport", "41000"]),
    ).toEqual({
      to: "10.244.1.2",
      port: 8080,
      proto: "tcp",
      sport: 41000,
      timeoutMs: 2000,
    });
    expect(parseProbeArgs(["--to=2001:DB8::1", "--proto=icmp", "--timeout-ms=500"])).toEqual({
      to: "2001:db8::1",
      proto: "icmp",
      timeoutMs: 500,
    });
  });

  test("names the flag that is wrong", () => {
    const cases: [string[], RegExp][] = [
      [["--proto", "tcp", "--port", "80"], /--to is required/],
      [["--to", "example.com", "--proto", "icmp"], /--to "example.com"/],
      [["--to", "10.0.0.1", "--proto", "sctp"], /--proto "sctp"/],
      [["--to", "10.0.0.1", "--proto", "tcp"], /--port is required/],
      [["--to", "10.0.0.1", "--proto", "tcp", "--port", "70000"], /--port "70000"/],
      [["--to", "10.0.0.1", "--proto", "udp", "--port", "53", "--sport", "-1"], /--sport/],
      [["--to", "10.0.0.1", "--proto", "icmp", "--timeout-ms", "0"], /--timeout-ms "0"/],
      [["--to", "10.0.0.1", "--proto", "icmp", "--port", "80"], /do not apply/],
      [["--to", "10.0.0.1", "--proto", "icmp", "--bogus", "1"], /unknown option --bogus/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseProbeArgs(argv)).toThrow(UsageError);
      expect(() => parseProbeArgs(argv)).toThrow(message);
    }
  });
});
