/**
 * The node's BGP speaker: owns the node's BIRD (linux/bird-process.ts) and keeps its config in
 * step with the node's blocks, uplink addresses and the cluster's BgpConfig: render
 * (bird-config.ts), write a 0600 temporary file (it may hold an MD5 password), `bird -p`, rename,
 * `configure` — a block or filter change keeps the sessions, a peering change restarts only that
 * peer (FINDINGS), a changed IPv6 next hop is a `restart` of its session. Changes coalesce,
 * failures retry with backoff (daemon/sync-loop.ts); session state is polled every 2 s into a
 * BgpStatus; an unexpected exit is counted and BIRD restarted after a growing delay (a BIRD a
 * killed agent left running is retired first). Stop (PLAN decision 7): without graceful restart
 * SIGTERM (peers get a Cease and withdraw at once); with it `graceful restart` (peers keep the
 * routes as stale for the restart time, the kernel keeps BIRD's, the next start runs `-R`).
 */
import { errorText } from "../base/error-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import { SyncLoop } from "../daemon/sync-loop.ts";
import { Timers } from "../daemon/timers.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { type BirdExit, type BirdHandle, checkBirdConfig, startBird } from "../linux/bird-process.ts";
import { parseBgpProtocols } from "../linux/bird-status-parse.ts";
import { type BgpPeerSelection, type BgpSession, selectBgpPeers } from "./bgp-peers.ts";
import type { BgpSpeakerInputs, BgpSpeakerOptions, BgpStopMode, BirdRunner } from "./bgp-speaker-types.ts";
import { type BgpStatus, EMPTY_BGP_STATUS, sessionStatuses } from "./bgp-status.ts";
import { renderBirdConfig, sessionsToRestart } from "./bird-config.ts";
import { BirdStateDir } from "./bird-state-dir.ts";
import { retireStaleBird } from "./stale-bird.ts";

export type { BgpSpeakerInputs, BgpSpeakerOptions, BgpStopMode, BirdRunner } from "./bgp-speaker-types.ts";

const BIRD_RUNNER: BirdRunner = { start: startBird, check: checkBirdConfig, retireStale: retireStaleBird };
const MAX_RESTART_DELAY_MS = 30_000;
/** A BIRD that ran this long before dying starts the restart backoff over. */
const STABLE_MS = 60_000;

export class BgpSpeaker {
  private readonly runner: BirdRunner;
  private readonly loop: SyncLoop;
  private readonly timers = new Timers();
  private readonly paths: BirdStateDir;
  private inputs: BgpSpeakerInputs | undefined;
  private selection: BgpPeerSelection | undefined;
  private handle: BirdHandle | undefined;
  private startedAt = 0;
  private applied: string | undefined;
  private appliedSessions: readonly BgpSession[] = [];
  private routerId: string | undefined;
  private crashes = 0;
  private polling = false;
  private stopped = false;
  private idled = false;
  private current: BgpStatus = EMPTY_BGP_STATUS;

  constructor(private readonly o: BgpSpeakerOptions) {
    this.runner = o.runner ?? BIRD_RUNNER;
    this.paths = new BirdStateDir(o.stateDir);
    this.loop = new SyncLoop({
      sync: () => this.sync(),
      failed: (e, reason, retryInMs) => {
        this.setStatus({ lastError: errorText(e) });
        o.log.error("BGP speaker sync failed", { reason, error: errorText(e), retryInMs });
      },
      firstRetryMs: 1000,
      maxRetryMs: 30_000,
      coalesceMs: 100,
    });
    this.timers.every(o.statusIntervalMs ?? 2000, () => void this.poll());
  }

  get status(): BgpStatus {
    return this.current;
  }

  /** New blocks, uplink addresses or BgpConfig: a sync soon (changes coalesce). */
  update(inputs: BgpSpeakerInputs, reason = "inputs changed"): void {
    this.inputs = inputs;
    this.loop.request(reason);
  }

  /** Runs a sync now and waits for it (start-up, tests). Failures are in `status.lastError`. */
  async flush(): Promise<void> {
    await this.loop.flush("flush");
  }

  /** Polls BIRD's session state now (the timer does it every 2 s). */
  async poll(): Promise<void> {
    const handle = this.handle;
    if (this.polling || handle === undefined || !handle.running || this.selection === undefined) return;
    this.polling = true;
    try {
      const facts = parseBgpProtocols(await handle.command("show protocols all"));
      const now = new Date();
      this.setStatus({
        sessions: sessionStatuses(this.selection.sessions, facts, now),
        polledAt: now.toISOString(),
      });
    } catch (e) {
      if (handle.running) this.o.log.warn("BGP status poll failed", { error: errorText(e) });
    } finally {
      this.polling = false;
    }
  }

  /** Stops BIRD per `mode` (default: graceful when the config enables graceful restart). */
  async stop(mode?: BgpStopMode): Promise<void> {
    this.stopped = true;
    this.timers.clear();
    await this.loop.stop();
    const handle = this.handle;
    if (handle === undefined || !handle.running) return;
    const how = mode ?? (this.inputs?.config.gracefulRestart.enabled ? "graceful" : "withdraw");
    if (how === "graceful") {
      try {
        await this.recovered(handle);
        await handle.gracefulRestart();
        this.o.log.info("BIRD stopped for a graceful restart: peers keep this node's routes as stale");
        this.setStatus({ running: false });
        return;
      } catch (e) {
        this.o.log.warn("graceful restart failed; stopping BIRD", { error: errorText(e) });
      }
    }
    await handle.stop();
    this.o.log.info("BIRD stopped: this node's blocks are withdrawn");
    this.setStatus({ running: false });
  }

  private setStatus(change: Partial<BgpStatus>): void {
    this.current = { ...this.current, ...change };
    this.o.onStatus?.(this.current);
  }

  private async sync(): Promise<void> {
    const inputs = this.inputs;
    if (inputs === undefined || this.stopped) return;
    const { uplink } = inputs;
    const selection = selectBgpPeers(inputs.config, {
      name: this.o.nodeName,
      nodeIPs: uplink.addresses,
      connected: uplink.connected,
      podFamilies: [...new Set(this.o.clusterCidrs.map((c) => c.family))],
    });
    this.selection = selection;
    for (const s of selection.skipped)
      this.o.log.warn("BGP peer not used", { peer: s.peer, reason: s.reason });
    const running = this.handle?.running === true;
    this.setStatus({
      enabled: selection.sessions.length > 0,
      skipped: selection.skipped,
      unannounced: selection.unannounced,
      sessions: sessionStatuses(selection.sessions, undefined, new Date()).map(
        (fresh) =>
          this.current.sessions.find(
            (old) => old.protocol === fresh.protocol && old.neighbor === fresh.neighbor,
          ) ?? fresh,
      ),
    });
    if (selection.sessions.length === 0) {
      if (running) {
        this.o.log.info("no BGP peer selects this node: stopping BIRD");
        await this.handle?.stop();
      } else if (this.handle === undefined && !this.idled) {
        this.idled = true; // what a BIRD of an earlier agent left, cleared in this loop's turn
        await this.o.onIdle?.();
      }
      this.applied = undefined;
      this.appliedSessions = [];
      this.setStatus({ running: false, announced: [] });
      return;
    }
    const text = renderBirdConfig({
      routerId: this.routerIdFor(uplink.addresses),
      nodeName: this.o.nodeName,
      uplink: uplink.name,
      blocks: inputs.blocks,
      clusterCidrs: this.o.clusterCidrs,
      nodeBlockLength: this.o.nodeBlockLength,
      sessions: selection.sessions,
      gracefulRestart: inputs.config.gracefulRestart,
    });
    if (running && text === this.applied) return;
    try {
      this.paths.writeChecked(text, (path) => this.runner.check(path));
      if (running && this.handle) {
        const result = await this.handle.reload();
        this.o.log.info("BIRD reconfigured", { result });
        // A reload keeps announcing a session's old IPv6 next hop (bird-config.ts): restart those.
        for (const protocol of sessionsToRestart(this.appliedSessions, selection.sessions)) {
          await this.handle.command(`restart ${protocol}`);
          this.o.log.info("BGP session restarted: its IPv6 next hop changed", { protocol });
        }
      } else await this.start(inputs.config.gracefulRestart.enabled);
      this.applied = text;
      this.appliedSessions = selection.sessions;
      this.setStatus({
        reloads: { ...this.current.reloads, ok: this.current.reloads.ok + 1 },
        announced: inputs.blocks.map(formatPrefix),
        lastError: undefined,
      });
    } catch (e) {
      this.setStatus({ reloads: { ...this.current.reloads, failed: this.current.reloads.failed + 1 } });
      throw e;
    }
  }

  private async start(recover: boolean): Promise<void> {
    // A BIRD that dies while starting makes start() throw (the sync loop retries); its exit is
    // not a crash of the running one.
    let started: BirdHandle | undefined;
    if (this.handle === undefined && (await this.runner.retireStale(this.paths.ctl, recover)))
      this.o.log.warn("retired the BIRD a previous agent left running", {
        ctl: this.paths.ctl,
        graceful: recover,
      });
    const handle = await this.runner.start({
      netns: this.o.netns,
      configPath: this.paths.conf,
      ctlPath: this.paths.ctl,
      pidPath: this.paths.pid,
      recover,
      checked: true, // writeChecked ran bird -p on it in sync()
      onExit: (exit) => {
        if (started !== undefined) this.exited(started, exit);
      },
      log: (level, line) => this.o.log[level]("bird", { line }),
    });
    started = handle;
    this.handle = handle;
    this.startedAt = Date.now();
    this.o.log.info("BIRD started", { pid: handle.pid, recover });
    this.setStatus({ running: true, pid: handle.pid, routerId: this.routerId });
  }

  private exited(handle: BirdHandle, exit: BirdExit): void {
    if (handle !== this.handle) return;
    this.setStatus({ running: false });
    if (exit.expected || this.stopped) return;
    this.crashes = Date.now() - this.startedAt > STABLE_MS ? 1 : this.crashes + 1;
    const delay = Math.min(1000 * 2 ** (this.crashes - 1), MAX_RESTART_DELAY_MS);
    const what = `BIRD exited unexpectedly (code ${exit.code}, signal ${exit.signal})`;
    this.o.log.error(what, { restartInMs: delay });
    this.setStatus({ restarts: this.current.restarts + 1, lastError: what });
    this.timers.after(delay, () => this.loop.request("BIRD exited"));
  }

  /** Fixed at the first start (and kept in the state dir): a node IP change keeps it. */
  private routerIdFor(addresses: readonly IPAddress[]): string {
    this.routerId ??= this.paths.routerId(this.o.nodeName, addresses);
    return this.routerId;
  }

  /** A BIRD started with `-R` and stopped while still in recovery (~2 s) loses its routes at the
   * peer (measured: the router dropped them at once; after recovery they stayed as stale). */
  private async recovered(handle: BirdHandle): Promise<void> {
    const inRecovery = async () => /recovery in progress/i.test(await handle.command("show status"));
    await pollUntil("BIRD to finish graceful-restart recovery", async () => !(await inRecovery()), 10_000, {
      intervalMs: 200,
    }).catch((e) =>
      this.o.log.warn("stopping BIRD during graceful-restart recovery", { error: errorText(e) }),
    );
  }
}
