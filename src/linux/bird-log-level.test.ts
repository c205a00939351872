import { describe, expect, test } from "bun:test";
import { birdLogLevel } from "./bird-process.ts";

describe("birdLogLevel", () => {
  test("BIRD's ordinary end is info although BIRD logs it as FATAL", () => {
    expect(birdLogLevel("2026-12-06 19:40:01.512 <FATAL> Shutdown completed")).toBe("info");
  });
  test("other FATAL lines, errors and bugs are errors", () => {
    expect(birdLogLevel("2026-12-06 19:40:01.512 <FATAL> Cannot create control socket")).toBe("error");
    expect(birdLogLevel("2026-12-06 19:40:01.512 <ERR> peer_router_lan1: Error: Hold timer expired")).toBe(
      "error",
    );
    expect(birdLogLevel("bird: /run/x/bird.conf:3:1 syntax error")).toBe("error");
  });
  test("remote and auth problems are warnings, the rest info", () => {
    expect(birdLogLevel("2026-12-06 19:40:01.512 <RMT> peer_x: Received: Cease")).toBe("warn");
    expect(birdLogLevel("2026-12-06 19:40:01.512 <INFO> Started")).toBe("info");
  });
});
