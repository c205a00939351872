/**
 * A BIRD left running by a previous agent of this node (one killed with SIGKILL cannot stop its
 * child): it still answers on the node's control socket and keeps announcing, and a new BIRD
 * cannot take the socket. The new speaker retires it before starting its own — `graceful
 * restart` when graceful restart is configured (peers and the kernel keep the routes; the new
 * BIRD starts with `-R` and takes them over), else `down` (a clean stop that withdraws).
 */
import { existsSync } from "node:fs";
import { pollUntil } from "../base/poll-until.ts";
import { birdCommand } from "../linux/bird-control.ts";

async function answers(ctlPath: string): Promise<boolean> {
  try {
    await birdCommand(ctlPath, "show status", { timeoutMs: 1000 });
    return true;
  } catch {
    return false;
  }
}

/** Retires a BIRD answering on `ctlPath`; true when there was one. Throws if it does not exit. */
export async function retireStaleBird(
  ctlPath: string,
  graceful: boolean,
  timeoutMs = 10_000,
): Promise<boolean> {
  if (!existsSync(ctlPath) || !(await answers(ctlPath))) return false;
  if (graceful) {
    // Stopped during its own recovery, a BIRD loses its routes at the peers (see BgpSpeaker.stop).
    const recovering = async () => {
      const reply = await birdCommand(ctlPath, "show status", { timeoutMs: 1000 }).catch(() => undefined);
      return reply?.lines.some((l) => /recovery in progress/i.test(l.text)) === true;
    };
    await pollUntil("the previous BIRD to finish recovery", async () => !(await recovering()), 10_000, {
      intervalMs: 200,
    }).catch(() => undefined);
  }
  try {
    await birdCommand(ctlPath, graceful ? "graceful restart" : "down", { timeoutMs: 5000 });
  } catch {
    // BIRD may close the socket as it exits, before its reply ends; its exit is what counts.
  }
  await pollUntil(
    `the previous BIRD on "${ctlPath}" to exit`,
    async () => !(await answers(ctlPath)),
    timeoutMs,
    {
      intervalMs: 100,
    },
  );
  return true;
}
