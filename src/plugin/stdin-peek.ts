/**
 * Reads stdin to its end, but only for so long. `podnet` run without arguments and with stdin a
 * pipe may be a plugin handed a config by hand, or a CLI whose caller left a pipe open and
 * writes nothing: the first must be answered as a plugin, the second must not hang.
 */

/** stdin's whole text, or undefined when it did not end within `ms` (stdin is then let go). */
export async function readStdinWithin(ms: number): Promise<string | undefined> {
  const stdin = process.stdin;
  return await new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (text: string | undefined) => {
      clearTimeout(timer);
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("error", onEnd);
      // Destroyed, not just paused: a pending read would keep the process from exiting.
      stdin.destroy();
      resolve(text);
    };
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onEnd = () => finish(Buffer.concat(chunks).toString("utf8"));
    const timer = setTimeout(() => finish(undefined), ms);
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", onEnd);
  });
}
