import { describe, expect, test } from "bun:test";
import { parseTimeOutput } from "./memory.ts";

describe("parseTimeOutput", () => {
  test("reads the figure GNU time writes with -f %M", () => {
    expect(parseTimeOutput("42188\n")).toBe(42188);
  });

  test("reads the figure after the line GNU time adds when the command failed", () => {
    expect(parseTimeOutput("Command exited with non-zero status 1\n4816\n")).toBe(4816);
  });

  test("gives nothing for output that is not a figure", () => {
    expect(parseTimeOutput("")).toBeUndefined();
    expect(parseTimeOutput("Command terminated by signal 9\n")).toBeUndefined();
  });
});
