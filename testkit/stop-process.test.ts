import { describe, expect, test } from "bun:test";
import { stopProcess } from "./stop-process.ts";

describe("stopProcess", () => {
  test("a process that exits on SIGTERM is not killed", async () => {
    const proc = Bun.spawn(["sleep", "30"]);
    const stopped = await stopProcess(proc, "SIGTERM", 5000);
    expect(stopped).toEqual({ code: 128 + 15, killed: false });
    expect(proc.signalCode).toBe("SIGTERM");
  });

  test("one that ignores the signal is killed after the grace period", async () => {
    const proc = Bun.spawn(["sh", "-c", "trap '' TERM; echo ready; exec sleep 30"], { stdout: "pipe" });
    // SIG_IGN survives the exec; it must be in place before the signal arrives.
    await proc.stdout.getReader().read();
    const started = Date.now();
    const stopped = await stopProcess(proc, "SIGTERM", 200);
    expect(stopped).toEqual({ code: 128 + 9, killed: true });
    expect(proc.signalCode).toBe("SIGKILL");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("one that has already exited is left alone", async () => {
    const proc = Bun.spawn(["true"]);
    await proc.exited;
    expect(await stopProcess(proc)).toEqual({ code: 0, killed: false });
  });
});
