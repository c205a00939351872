/** BirdReplyReader over BIRD's reply-code line protocol (as `birdc -v` shows it), and the socket client against a fake BIRD. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BirdControlError,
  BirdReplyError,
  BirdReplyReader,
  birdCommand,
  InvalidBirdCommandError,
  replyText,
} from "./bird-control.ts";

describe("BirdReplyReader", () => {
  test("collects dash, continuation and final lines; async lines are skipped; split chunks join", () => {
    const r = new BirdReplyReader();
    expect(r.feed("0001 BIRD 2.0.12 ready.\n")).toEqual({
      code: 1,
      lines: [{ code: 1, text: "BIRD 2.0.12 ready." }],
    });
    expect(r.feed("2002-Name       Proto\n1002-device1    Device\n direct1")).toBeUndefined();
    expect(r.partial).toBe(true);
    const got = r.feed("    Direct\n+async message\n0000 \n");
    expect(got?.code).toBe(0);
    expect(got?.lines).toEqual([
      { code: 2002, text: "Name       Proto" },
      { code: 1002, text: "device1    Device" },
      { code: 1002, text: "direct1    Direct" },
      { code: 0, text: "" },
    ]);
    expect(replyText({ command: "show protocols", code: 0, lines: got?.lines ?? [] })).toBe(
      "Name       Proto\ndevice1    Device\ndirect1    Direct",
    );
  });

  test("a line that is not BIRD's protocol is an error", () => {
    expect(() => new BirdReplyReader().feed("HTTP/1.1 400 Bad Request\n")).toThrow("not a BIRD reply line");
  });
});

const dir = mkdtempSync(join(tmpdir(), "podnet-bird-control-"));
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fake BIRD: greets, then answers each command line with `answer(command)` (undefined: silence). */
async function fakeBird(name: string, answer: (command: string) => string | undefined): Promise<string> {
  const path = join(dir, name);
  const server = createServer((socket) => {
    socket.write("0001 BIRD 2.0.12 ready.\n");
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      const nl = buffer.indexOf("\n");
      if (nl < 0) return;
      const reply = answer(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      if (reply !== undefined) socket.write(reply);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

describe("birdCommand", () => {
  test("sends the command after the greeting and returns the reply", async () => {
    const path = await fakeBird("ok.ctl", (cmd) =>
      cmd === "configure"
        ? "0002-Reading configuration from /x.conf\n0003 Reconfigured\n"
        : "9001 syntax error\n",
    );
    const reply = await birdCommand(path, "configure");
    expect(reply.code).toBe(3);
    expect(replyText(reply)).toBe("Reading configuration from /x.conf\nReconfigured");
  });

  test("8xxx and 9xxx answers are typed errors unless accepted", async () => {
    const path = await fakeBird("err.ctl", (cmd) =>
      cmd === "configure"
        ? "0002-Reading configuration from /x.conf\n8002 /x.conf:11:59 Mixed IPv4/IPv6 prefixes in prefix set\n"
        : "9001 syntax error, unexpected CF_SYM_UNDEFINED\n",
    );
    const refused = await birdCommand(path, "configure").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BirdReplyError);
    expect((refused as BirdReplyError).code).toBe(8002);
    expect((refused as BirdReplyError).kind).toBe("runtime");
    const syntax = await birdCommand(path, "shwo status").catch((e: unknown) => e);
    expect((syntax as BirdReplyError).kind).toBe("syntax");
    expect((await birdCommand(path, "configure", { acceptErrors: true })).code).toBe(8002);
  });

  test("a silent BIRD times out, a missing socket fails, a multi-line command is refused", async () => {
    const path = await fakeBird("silent.ctl", () => undefined);
    const silent = await birdCommand(path, "show status", { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(BirdControlError);
    expect((silent as Error).message).toContain("no complete reply within 200 ms");
    const missing = await birdCommand(join(dir, "none.ctl"), "show status").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BirdControlError);
    expect(() => birdCommand(path, "show status\ndown")).toThrow(InvalidBirdCommandError);
  });
});
