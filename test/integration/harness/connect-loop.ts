/**
 * A TCP server and a client that connects over and over, for tests that change a namespace's
 * rules under live traffic (run with Bun inside a namespace):
 *
 *   serve PORT                    answers every connection with "ok" and closes; prints "listening"
 *   loop HOST PORT STOPFILE MAXMS connects one after the other (2 s timeout each) until STOPFILE
 *                                 exists or MAXMS passed; prints "connected" after the first answer,
 *                                 and at the end one JSON line: how many answered,
 *                                 how many failed (with the first errors), and when each answered one
 *                                 started (Date.now() ms).
 */
import { existsSync } from "node:fs";
import { connect, createServer } from "node:net";

const [mode, ...args] = process.argv.slice(2);

function once(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let reply = "";
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timed out after 2 s"));
    }, 2000);
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      reply += d;
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (reply === "ok") resolve();
      else reject(new Error(`answered ${JSON.stringify(reply)}`));
    });
  });
}

if (mode === "serve") {
  const server = createServer((socket) => socket.end("ok"));
  server.listen(Number(args[0]), "0.0.0.0", () => console.log("listening"));
} else if (mode === "loop") {
  const [host = "", port = "0", stopFile = "", maxMs = "0"] = args;
  const deadline = Date.now() + Number(maxMs);
  const started: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  while (!existsSync(stopFile) && Date.now() < deadline) {
    const t = Date.now();
    try {
      await once(host, Number(port));
      if (started.length === 0) console.log("connected");
      started.push(t);
    } catch (e) {
      failed++;
      if (errors.length < 5) errors.push(`${t}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  console.log(JSON.stringify({ ok: started.length, failed, errors, started }));
} else {
  console.error(`usage: connect-loop.ts serve PORT | loop HOST PORT STOPFILE MAXMS (got ${mode})`);
  process.exit(2);
}
