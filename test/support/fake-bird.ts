/**
 * A BIRD without a process, for the unit tests of the agent's BGP (bgp-speaker.ts, agent-bgp.ts):
 * FakeBirdRunner "starts" a FakeBird per start, which keeps every config it was started or
 * reloaded with and every command sent to it, answers `show protocols all` with an Established
 * session (bgp-session-fixtures.ts) and `show status` as BIRD does, and exits when told.
 */
import { readFileSync } from "node:fs";
import type { BirdRunner } from "../../src/agent/bgp-speaker.ts";
import type {
  BirdExit,
  BirdHandle,
  BirdReloadResult,
  StartBirdOptions,
} from "../../src/linux/bird-process.ts";
import { showProtocolsEstablished } from "./bgp-session-fixtures.ts";

export class FakeBird implements BirdHandle {
  running = true;
  readonly exited: Promise<BirdExit>;
  /** The config file's text at the start and at each reload. */
  readonly configs: string[] = [];
  readonly commands: string[] = [];
  /** Stopped with `graceful restart` rather than SIGTERM. */
  graceful = false;
  /** `show status` answers this many times that graceful-restart recovery is in progress. */
  recoveryPolls = 0;
  private resolve!: (e: BirdExit) => void;

  constructor(
    readonly options: StartBirdOptions,
    readonly pid: number,
    /** What `show protocols all` answers. */
    public protocols: string = showProtocolsEstablished(),
  ) {
    this.exited = new Promise((r) => {
      this.resolve = r;
    });
    this.configs.push(readFileSync(options.configPath, "utf8"));
  }

  get ctlPath(): string {
    return this.options.ctlPath;
  }

  get configPath(): string {
    return this.options.configPath;
  }

  async reload(): Promise<BirdReloadResult> {
    this.configs.push(readFileSync(this.options.configPath, "utf8"));
    return "reconfigured";
  }

  /** Answers as BIRD does; a command the fake does not know fails the test that sent it. */
  async command(cmd: string): Promise<string> {
    this.commands.push(cmd);
    if (cmd === "show protocols all") return this.protocols;
    if (cmd.startsWith("restart ")) return `${cmd.slice("restart ".length)}: restarted`;
    if (cmd !== "show status") throw new Error(`FakeBird: unexpected command "${cmd}"`);
    const recovering = this.recoveryPolls-- > 0 ? "Graceful restart recovery in progress\n" : "";
    return `BIRD 2.0.12\nRouter ID is 192.0.2.11\n${recovering}Daemon is up and running`;
  }

  /** Exits now: `expected` as after a stop, else as a crash (SIGKILL). */
  exit(expected: boolean): BirdExit {
    const e: BirdExit = { code: expected ? 0 : null, signal: expected ? null : "SIGKILL", expected };
    this.running = false;
    this.options.onExit?.(e);
    this.resolve(e);
    return e;
  }

  async gracefulRestart(): Promise<BirdExit> {
    this.graceful = true;
    return this.exit(true);
  }

  async stop(): Promise<BirdExit> {
    return this.exit(true);
  }
}

export class FakeBirdRunner implements BirdRunner {
  readonly birds: FakeBird[] = [];
  /** `check` refuses a config containing this text. */
  refuse: string | undefined;
  /** A BIRD a previous agent left on the control socket, retired at the next start. */
  stale = false;
  readonly retired: { graceful: boolean }[] = [];

  constructor(private readonly firstPid = 1000) {}

  async start(options: StartBirdOptions): Promise<BirdHandle> {
    const bird = new FakeBird(options, this.firstPid + this.birds.length);
    this.birds.push(bird);
    return bird;
  }

  check(path: string): void {
    if (this.refuse !== undefined && readFileSync(path, "utf8").includes(this.refuse))
      throw new Error(`${path}:1:1 refused`);
  }

  async retireStale(_ctlPath: string, graceful: boolean): Promise<boolean> {
    const was = this.stale;
    if (was) this.retired.push({ graceful });
    this.stale = false;
    return was;
  }

  /** The BIRD started last (fails the test when none was). */
  get last(): FakeBird {
    const bird = this.birds.at(-1);
    if (bird === undefined) throw new Error("FakeBirdRunner: no BIRD was started");
    return bird;
  }
}
