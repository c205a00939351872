/**
 * A client of BIRD's control socket (`bird -s PATH`), the protocol birdc speaks: on connect BIRD
 * greets with `0001 BIRD x ready.`; after a command line it answers with lines `CODE-text` (more
 * follows), ` text` (continuation of the previous code) and ends with `CODE text` (a space after
 * the four digits). Codes 0xxx are success, 1xxx/2xxx table rows and headers, 8xxx runtime errors
 * (8002: the configuration file is refused, the old one keeps running), 9xxx command syntax errors
 * (BIRD's doc/reply_codes). Lines starting with "+" are asynchronous messages, not part of a reply.
 * Cheaper than spawning birdc for a status poll every 2 s, and no readline in between.
 */
import { createConnection } from "node:net";
import { firstControl } from "../base/control-chars.ts";

export interface BirdReplyLine {
  readonly code: number;
  readonly text: string;
}

export interface BirdReply {
  readonly command: string;
  /** The code of the final line. */
  readonly code: number;
  readonly lines: readonly BirdReplyLine[];
}

/** The reply's text as birdc prints it (codes dropped; code 0 lines are empty ends). */
export function replyText(reply: BirdReply): string {
  return reply.lines
    .filter((l) => !(l.code === 0 && l.text === ""))
    .map((l) => l.text)
    .join("\n");
}

/** The socket could not be used: missing, refused, closed early, or no answer in time. */
export class BirdControlError extends Error {
  override readonly name = "BirdControlError";
  constructor(
    readonly ctlPath: string,
    readonly command: string,
    readonly reason: string,
  ) {
    super(`BIRD control socket "${ctlPath}" failed for "${command}": ${reason}`);
  }
}

/** BIRD answered with an error code: 8xxx runtime (e.g. 8002 config refused), 9xxx syntax. */
export class BirdReplyError extends Error {
  override readonly name = "BirdReplyError";
  readonly kind: "runtime" | "syntax";
  constructor(
    readonly ctlPath: string,
    readonly command: string,
    readonly code: number,
    readonly text: string,
  ) {
    const kind = code >= 9000 ? "syntax" : "runtime";
    super(`BIRD refused "${command}" (${kind} error ${code}): ${text}`);
    this.kind = kind;
  }
}

export class InvalidBirdCommandError extends Error {
  override readonly name = "InvalidBirdCommandError";
  constructor(readonly command: string) {
    super(`Invalid BIRD command ${JSON.stringify(command)}: must be one line without control characters`);
  }
}

const LINE = /^(\d{4})([ -])(.*)$/;

/**
 * Collects the lines of one reply from chunks of socket data. Pure: feed() returns the finished
 * reply once its final line arrived, undefined before.
 */
export class BirdReplyReader {
  private buffer = "";
  private lines: BirdReplyLine[] = [];
  private lastCode = -1;

  /** Throws on a line that is not part of the protocol (the peer is not BIRD). */
  feed(chunk: string): { code: number; lines: BirdReplyLine[] } | undefined {
    this.buffer += chunk;
    for (;;) {
      const nl = this.buffer.indexOf("\n");
      if (nl < 0) return undefined;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.startsWith("+")) continue;
      if (line.startsWith(" ")) {
        if (this.lastCode < 0) throw new Error(`continuation line before any code: ${JSON.stringify(line)}`);
        this.lines.push({ code: this.lastCode, text: line.slice(1) });
        continue;
      }
      const m = LINE.exec(line);
      if (!m) throw new Error(`not a BIRD reply line: ${JSON.stringify(line)}`);
      const code = Number(m[1]);
      this.lastCode = code;
      this.lines.push({ code, text: m[3] as string });
      if (m[2] === " ") {
        const reply = { code, lines: this.lines };
        this.lines = [];
        this.lastCode = -1;
        return reply;
      }
    }
  }

  /** Whether bytes of an unfinished reply are pending (for an early close's message). */
  get partial(): boolean {
    return this.buffer !== "" || this.lines.length > 0;
  }
}

export interface BirdCommandOptions {
  /** For connecting, the greeting and the whole reply (default 5 s). */
  readonly timeoutMs?: number;
  /** Return 8xxx/9xxx replies instead of throwing BirdReplyError. */
  readonly acceptErrors?: boolean;
}

export function validateBirdCommand(command: string): string {
  if (command.trim() === "" || firstControl(command) !== undefined)
    throw new InvalidBirdCommandError(command);
  return command;
}

/**
 * Sends one command on a fresh connection and returns BIRD's reply. Throws BirdControlError when
 * the socket fails or times out and BirdReplyError for an 8xxx/9xxx answer. A command after which
 * BIRD exits (`down`, `graceful restart`) may see the socket close right after the reply; that is
 * not an error once the final line arrived.
 */
export function birdCommand(
  ctlPath: string,
  command: string,
  options: BirdCommandOptions = {},
): Promise<BirdReply> {
  validateBirdCommand(command);
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise<BirdReply>((resolve, reject) => {
    const reader = new BirdReplyReader();
    let greeted = false;
    let done = false;
    const socket = createConnection({ path: ctlPath });
    const finish = (error: Error | undefined, reply?: BirdReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply as BirdReply);
    };
    const timer = setTimeout(
      () => finish(new BirdControlError(ctlPath, command, `no complete reply within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.setEncoding("utf8");
    socket.on("error", (e) => finish(new BirdControlError(ctlPath, command, e.message)));
    socket.on("close", () =>
      finish(
        new BirdControlError(
          ctlPath,
          command,
          `BIRD closed the connection ${greeted ? "before the end of its reply" : "before its greeting"}${reader.partial ? " (partial reply)" : ""}`,
        ),
      ),
    );
    socket.on("data", (chunk: string) => {
      try {
        let got = reader.feed(chunk);
        while (got !== undefined) {
          if (!greeted) {
            if (got.code !== 1) throw new Error(`expected greeting 0001, got ${got.code}`);
            greeted = true;
            socket.write(`${command}\n`);
          } else {
            const reply: BirdReply = { command, code: got.code, lines: got.lines };
            if (got.code >= 8000 && !options.acceptErrors) {
              const text = replyText(reply);
              finish(new BirdReplyError(ctlPath, command, got.code, text));
            } else finish(undefined, reply);
            return;
          }
          got = reader.feed("");
        }
      } catch (e) {
        finish(new BirdControlError(ctlPath, command, e instanceof Error ? e.message : String(e)));
      }
    });
  });
}
