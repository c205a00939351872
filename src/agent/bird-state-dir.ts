/**
 * The files of the node's BIRD under the agent's state dir (0700): the config (0600 — it may
 * hold an MD5 password), the control socket, the pid file, and the router id chosen at the first
 * start (kept so a node IP change does not change it, PLAN decision 6).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { bgpRouterId } from "./bgp-router-id.ts";

export class BirdStateDir {
  readonly conf: string;
  readonly ctl: string;
  readonly pid: string;
  private readonly tmp: string;
  private readonly routerIdPath: string;

  constructor(readonly dir: string) {
    this.conf = join(dir, "bird.conf");
    this.tmp = join(dir, "bird.conf.tmp");
    this.ctl = join(dir, "bird.ctl");
    this.pid = join(dir, "bird.pid");
    this.routerIdPath = join(dir, "router-id");
  }

  private ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** tmp (0600) → `check` (`bird -p`) → rename: bird.conf only ever holds a config BIRD accepted. */
  writeChecked(text: string, check: (path: string) => void): void {
    this.ensure();
    rmSync(this.tmp, { force: true });
    writeFileSync(this.tmp, text, { mode: 0o600 });
    chmodSync(this.tmp, 0o600);
    try {
      check(this.tmp);
    } catch (e) {
      rmSync(this.tmp, { force: true });
      throw e;
    }
    renameSync(this.tmp, this.conf);
  }

  /** The saved router id, else bgpRouterId's, saved for the next start. */
  routerId(nodeName: string, addresses: readonly IPAddress[]): string {
    const saved = existsSync(this.routerIdPath) ? readFileSync(this.routerIdPath, "utf8").trim() : "";
    const ip = tryParseIP(saved);
    if (ip?.family === 4 && ip.value !== 0n && formatIP(ip) === saved) return saved;
    const id = bgpRouterId(nodeName, addresses);
    this.ensure();
    writeFileSync(this.routerIdPath, `${id}\n`);
    return id;
  }
}
