/** checkBirdConfig runs `bird -p` (parse only: no socket, no kernel) on real files when bird2 is installed. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIRD_BINARY, BirdConfigError, checkBirdConfig, parseBirdLocation } from "./bird-check.ts";

const dir = mkdtempSync(join(tmpdir(), "podnet-bird-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("parseBirdLocation splits file:line:col from the message", () => {
  expect(parseBirdLocation("bird: /x/a.conf:3:17 syntax error, unexpected S")).toEqual({
    location: "/x/a.conf:3:17",
    message: "syntax error, unexpected S",
  });
  expect(parseBirdLocation("/x/a.conf:11:59 Mixed IPv4/IPv6 prefixes in prefix set")?.location).toBe(
    "/x/a.conf:11:59",
  );
  expect(parseBirdLocation("Unable to open configuration file")).toBeUndefined();
});

describe.skipIf(!existsSync(BIRD_BINARY))("checkBirdConfig with /usr/sbin/bird", () => {
  test("a valid config passes", () => {
    const path = join(dir, "ok.conf");
    writeFileSync(
      path,
      "router id 192.0.2.11;\nprotocol device {}\nprotocol static s4 { ipv4; route 10.244.1.0/24 blackhole; }\n",
    );
    expect(() => checkBirdConfig(path)).not.toThrow();
  });

  test("a refused config names the file, line and column", () => {
    const path = join(dir, "bad.conf");
    writeFileSync(
      path,
      "router id 192.0.2.11;\nprotocol device {}\nprotocol static s4 { ipv4; route 10.244.1.0/33 blackhole; }\n",
    );
    const e = (() => {
      try {
        checkBirdConfig(path);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(BirdConfigError);
    expect((e as BirdConfigError).location).toMatch(new RegExp(`^${path}:3:\\d+$`));
    expect((e as Error).message).toContain(`BIRD refuses config "${path}" at ${path}:3:`);
  });

  test("a missing file is refused with BIRD's reason", () => {
    expect(() => checkBirdConfig(join(dir, "none.conf"))).toThrow(/Unable to open configuration file/);
  });
});
