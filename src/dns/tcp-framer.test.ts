import { describe, expect, test } from "bun:test";
import { frame, TcpFramer } from "./tcp-framer.ts";

describe("TCP framing", () => {
  test("messages split across chunks and several in one chunk", () => {
    const framer = new TcpFramer(512);
    const both = Buffer.concat([frame(Buffer.from("hello")), frame(Buffer.from("world!"))]);
    expect(framer.push(both.subarray(0, 3)).messages).toEqual([]);
    expect(framer.push(both.subarray(3, 9)).messages.map(String)).toEqual(["hello"]);
    expect(framer.push(both.subarray(9)).messages.map(String)).toEqual(["world!"]);
  });

  test("a length over the limit or of zero is refused before it is buffered", () => {
    const framer = new TcpFramer(4096);
    const out = framer.push(Buffer.from([0xff, 0xff, 1, 2, 3]));
    expect(out.error).toBe("a message of 65535 bytes (limit 4096)");
    expect(new TcpFramer(10).push(Buffer.from([0, 0])).error).toBe("a message of 0 bytes (limit 10)");
  });
});
